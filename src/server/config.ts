/**
 * `dorgu-ws serve` flags and environment, turned into a validated
 * {@link ServeConfig}. Flag names and the `:9090` address form follow the
 * seed's operator flags.
 */
import * as v from "valibot";
import {
  type FlagSpecs,
  parseBoolean,
  parseDuration,
  parseFlags,
  parseInteger,
  parseSize,
  UsageError,
} from "../flags.ts";
import { LOG_LEVELS } from "../log.ts";
import { NamespaceSchema } from "../protocol/mod.ts";
import { checkHostPatterns, checkOriginPatterns } from "./origin.ts";

/** The flags of `dorgu-ws serve`. */
export const SERVE_FLAGS: FlagSpecs = {
  "websocket-addr": {
    type: "string",
    value: "ADDR",
    help: "Listen address; ':9090' means every interface",
    default: ":9090",
  },
  "enable-websocket": {
    type: "boolean",
    help: "Serve /ws (health, readiness and metrics are served regardless)",
    default: "true",
  },
  source: {
    type: "string",
    value: "SRC",
    help:
      "'kubernetes'; a directory of manifests to serve instead of a cluster; or 'demo', the example cluster built in",
    default: "kubernetes",
  },
  kubeconfig: {
    type: "string",
    value: "PATH",
    help:
      "Kubeconfig file; default $KUBECONFIG, ~/.kube/config, then in-cluster",
    env: false,
  },
  context: {
    type: "string",
    value: "NAME",
    help: "Kubeconfig context to use",
  },
  namespace: {
    type: "string",
    short: "n",
    multiple: true,
    value: "NS",
    help: "Watch namespaced resources only in NS (repeatable)",
  },
  "history-size": {
    type: "string",
    value: "N",
    help: "Events each topic keeps for resume and 'request events'",
    default: "1024",
  },
  "allowed-origins": {
    type: "string",
    multiple: true,
    value: "ORIGIN",
    help:
      "Browser origins allowed to connect, e.g. https://ops.example.com, https://*.example.com or * (repeatable)",
  },
  auth: {
    type: "string",
    value: "MODE",
    help:
      "'none'; 'token' (bearer tokens listed in --token-file); or 'kubernetes' (TokenReview, and namespaces the user may list)",
    default: "none",
  },
  "token-file": {
    type: "string",
    value: "PATH",
    help: "Lines of 'token,user[,namespaces]' for --auth token",
  },
  "allowed-hosts": {
    type: "string",
    multiple: true,
    value: "HOST",
    help:
      "Host names clients may use besides IP addresses and localhost, e.g. dorgu-ws.dorgu-system.svc or *.example.com (repeatable); guards against DNS rebinding",
  },
  "max-connections": {
    type: "string",
    value: "N",
    help: "Open WebSocket connections allowed at once",
    default: "10000",
  },
  "max-pending-connections": {
    type: "string",
    value: "N",
    help:
      "Connections not yet upgraded allowed at once; when full, the oldest one still sending its request is closed",
    default: "256",
  },
  "header-timeout": {
    type: "string",
    value: "DUR",
    help: "Time a client has to send its HTTP request head",
    default: "10s",
  },
  "rate-limit": {
    type: "string",
    value: "N",
    help: "Messages per second a client may send, on average",
    default: "20",
  },
  "rate-burst": {
    type: "string",
    value: "N",
    help: "Messages a client may send in one burst",
    default: "50",
  },
  "send-buffer": {
    type: "string",
    value: "N",
    help: "Messages a client may leave unread before its events are dropped",
    default: "256",
  },
  "send-buffer-bytes": {
    type: "string",
    value: "SIZE",
    help: "Bytes a client may leave unread before its events are dropped",
    default: "4MiB",
  },
  "write-timeout": {
    type: "string",
    value: "DUR",
    help: "Close a client that takes nothing for this long",
    default: "10s",
  },
  "read-timeout": {
    type: "string",
    value: "DUR",
    help: "Close a client silent for this long; pings go out at half of it",
    default: "60s",
  },
  "max-message-size": {
    type: "string",
    value: "SIZE",
    help: "Largest message a client may send",
    default: "512KiB",
  },
  "message-timeout": {
    type: "string",
    value: "DUR",
    help: "Time a client has to finish a message it has started sending",
    default: "10s",
  },
  "log-level": {
    type: "string",
    value: "LEVEL",
    help: "debug, info, warn or error",
    default: "info",
  },
  help: { type: "boolean", short: "h", help: "Show this help", env: false },
};

const ConfigSchema = v.object({
  hostname: v.string(),
  port: v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(65535)),
  enableWebsocket: v.boolean(),
  source: v.pipe(v.string(), v.minLength(1)),
  kubeconfig: v.optional(v.string()),
  context: v.optional(v.string()),
  namespaces: v.array(NamespaceSchema),
  historySize: v.number(),
  allowedOrigins: v.array(v.string()),
  allowedHosts: v.array(v.string()),
  auth: v.picklist(["none", "token", "kubernetes"]),
  tokenFile: v.optional(v.string()),
  maxConnections: v.number(),
  maxPendingConnections: v.number(),
  headerTimeoutMs: v.pipe(v.number(), v.minValue(1)),
  messageTimeoutMs: v.pipe(v.number(), v.minValue(1)),
  sendBufferBytes: v.number(),
  rateLimit: v.number(),
  rateBurst: v.number(),
  sendBuffer: v.number(),
  writeTimeoutMs: v.pipe(v.number(), v.minValue(1)),
  readTimeoutMs: v.pipe(v.number(), v.minValue(1)),
  maxMessageBytes: v.pipe(v.number(), v.minValue(1024)),
  logLevel: v.picklist(LOG_LEVELS),
});

/** Everything `serve` needs, validated. */
export type ServeConfig = v.InferOutput<typeof ConfigSchema>;

/** The defaults of {@link ServeConfig}, as the seed defines them. */
export const DEFAULT_CONFIG: ServeConfig = {
  hostname: "",
  port: 9090,
  enableWebsocket: true,
  source: "kubernetes",
  namespaces: [],
  historySize: 1024,
  allowedOrigins: [],
  allowedHosts: [],
  auth: "none",
  maxConnections: 10_000,
  maxPendingConnections: 256,
  headerTimeoutMs: 10_000,
  messageTimeoutMs: 10_000,
  sendBufferBytes: 4 * 1024 * 1024,
  rateLimit: 20,
  rateBurst: 50,
  sendBuffer: 256,
  writeTimeoutMs: 10_000,
  readTimeoutMs: 60_000,
  maxMessageBytes: 512 * 1024,
  logLevel: "info",
};

/**
 * Parses a listen address: `:9090` (every interface), `9090`,
 * `127.0.0.1:9090`, `[::1]:9090` or `localhost:9090`. An empty hostname
 * means every interface.
 */
export function parseListenAddress(
  raw: string,
): { hostname: string; port: number } {
  const text = raw.trim();
  let hostname = "";
  let port = text;
  if (text.startsWith("[")) {
    const end = text.indexOf("]:");
    hostname = end > 0 ? text.slice(1, end) : "";
    port = end > 0 ? text.slice(end + 2) : "";
  } else if (text.includes(":")) {
    const colon = text.lastIndexOf(":");
    hostname = text.slice(0, colon);
    port = text.slice(colon + 1);
  }
  if (
    !/^\d{1,5}$/.test(port) || Number(port) > 65535 ||
    (!text.startsWith("[") && hostname.includes(":")) ||
    (text.startsWith("[") && !hostname)
  ) {
    throw new UsageError(
      `--websocket-addr must look like :9090, 127.0.0.1:9090 or [::1]:9090, got '${raw}'.`,
    );
  }
  return { hostname, port: Number(port) };
}

/** Parses `serve` arguments (and `DORGU_WS_*` variables) into a config. */
export function parseServeArgs(
  args: string[],
  options: { env?: (name: string) => string | undefined } = {},
): ServeConfig | "help" {
  const { values } = parseFlags(args, SERVE_FLAGS, {
    command: "dorgu-ws serve",
    env: options.env,
  });
  if (values.help) return "help";
  const text = (name: string) => values[name] as string | undefined;
  const list = (name: string) =>
    ((values[name] as string[] | undefined) ?? []).flatMap((item) =>
      item.split(",")
    ).map((item) => item.trim()).filter(Boolean);
  const count = (name: string, min: number, max: number, fallback: number) => {
    const raw = text(name);
    return raw === undefined
      ? fallback
      : parseInteger(raw, `--${name}`, { min, max });
  };
  const duration = (name: string, fallback: number) => {
    const raw = text(name);
    return raw === undefined ? fallback : parseDuration(raw, `--${name}`);
  };
  const enable = values["enable-websocket"];
  const address = parseListenAddress(text("websocket-addr") ?? ":9090");
  const maxMessage = text("max-message-size");
  const raw = {
    ...address,
    enableWebsocket: typeof enable === "string"
      ? parseBoolean(enable, "--enable-websocket")
      : enable ?? true,
    source: text("source") ?? DEFAULT_CONFIG.source,
    kubeconfig: text("kubeconfig"),
    context: text("context"),
    namespaces: list("namespace"),
    historySize: count("history-size", 1, 1_000_000, 1024),
    allowedOrigins: list("allowed-origins"),
    allowedHosts: list("allowed-hosts"),
    auth: text("auth") ?? "none",
    tokenFile: text("token-file"),
    maxConnections: count("max-connections", 1, 1_000_000, 10_000),
    maxPendingConnections: count("max-pending-connections", 1, 1_000_000, 256),
    headerTimeoutMs: duration("header-timeout", 10_000),
    messageTimeoutMs: duration("message-timeout", 10_000),
    sendBufferBytes: text("send-buffer-bytes") === undefined
      ? 4 * 1024 * 1024
      : parseSize(text("send-buffer-bytes") as string, "--send-buffer-bytes"),
    rateLimit: count("rate-limit", 1, 100_000, 20),
    rateBurst: count("rate-burst", 1, 100_000, 50),
    sendBuffer: count("send-buffer", 1, 1_000_000, 256),
    writeTimeoutMs: duration("write-timeout", 10_000),
    readTimeoutMs: duration("read-timeout", 60_000),
    maxMessageBytes: maxMessage === undefined
      ? 512 * 1024
      : parseSize(maxMessage, "--max-message-size"),
    logLevel: text("log-level") ?? "info",
  };
  const parsed = v.safeParse(ConfigSchema, raw);
  if (!parsed.success) {
    const issue = parsed.issues[0];
    const path = v.getDotPath(issue) ?? "";
    const flag = FLAG_OF[path.split(".")[0]] ?? path;
    throw new UsageError(
      `${flag} has a bad value: ${
        describeValue(issue)
      }; run 'dorgu-ws serve --help' for the accepted values.`,
    );
  }
  const config = parsed.output;
  try {
    checkOriginPatterns(config.allowedOrigins);
    checkHostPatterns(config.allowedHosts);
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  if (config.auth === "token" && !config.tokenFile) {
    throw new UsageError("--auth token needs --token-file with the tokens.");
  }
  return config;
}

const FLAG_OF: Record<string, string> = {
  port: "--websocket-addr",
  source: "--source",
  namespaces: "--namespace",
  auth: "--auth",
  writeTimeoutMs: "--write-timeout",
  readTimeoutMs: "--read-timeout",
  maxMessageBytes: "--max-message-size",
  logLevel: "--log-level",
};

function describeValue(issue: v.BaseIssue<unknown>): string {
  return `${issue.received} (${issue.message.replace(/\.$/, "")})`;
}
