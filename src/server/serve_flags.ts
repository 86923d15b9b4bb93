/**
 * The `dorgu-ws serve` flags: one table in which each flag's help, default
 * and the config fields it sets live together, and the schema of the
 * config they fill.
 *
 * @module
 */
import * as v from "valibot";
import {
  type FlagSpec,
  type FlagValue,
  parseChoice,
  parseDuration,
  parseInteger,
  parseSize,
  UsageError,
} from "../flags.ts";
import { DEFAULT_HISTORY_SIZE } from "../hub/history.ts";
import { LOG_LEVELS } from "../log.ts";
import { NamespaceSchema } from "../protocol/mod.ts";
import { DEFAULT_MAX_MESSAGE_FRAMES } from "../transport/frame_reader.ts";
import { checkHostPatterns, checkOriginPatterns } from "./origin.ts";

/** What every flag together sets, checked once more after reading. */
export const ConfigSchema = v.object({
  hostname: v.string(),
  port: v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(65535)),
  enableWebsocket: v.boolean(),
  dashboard: v.boolean(),
  source: v.pipe(v.string(), v.minLength(1)),
  kubeconfig: v.optional(v.string()),
  context: v.optional(v.string()),
  namespaces: v.array(NamespaceSchema),
  historySize: v.number(),
  allowedOrigins: v.array(v.string()),
  allowedHosts: v.array(v.string()),
  auth: v.picklist(["none", "token", "kubernetes"]),
  tokenFile: v.optional(v.string()),
  tlsCertFile: v.optional(v.string()),
  tlsPrivateKeyFile: v.optional(v.string()),
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
  maxMessageFrames: v.pipe(v.number(), v.minValue(1)),
  logLevel: v.picklist(LOG_LEVELS),
});

/** Everything `serve` needs, validated. */
export type ServeConfig = v.InferOutput<typeof ConfigSchema>;

/** A `serve` flag: how it parses, and the config fields its value sets. */
export interface ServeFlag extends FlagSpec {
  /**
   * Turns the flag's value (or its default) into config fields; `what`
   * names what set it (`--history-size` or `DORGU_WS_HISTORY_SIZE`), for
   * messages.
   */
  read?: (value: FlagValue, what: string) => Partial<ServeConfig>;
}

const AUTH_MODES = ["none", "token", "kubernetes"] as const;

/** The flags of `dorgu-ws serve`, in the order the help lists them. */
export const SERVE_FLAGS: Record<string, ServeFlag> = {
  "websocket-addr": {
    type: "string",
    value: "ADDR",
    help: "Listen address; ':9090' means every interface",
    default: ":9090",
    read: (value, what) => parseListenAddress(String(value), what),
  },
  "enable-websocket": {
    type: "boolean",
    help: "Serve /ws (health, readiness and metrics are served regardless)",
    default: "true",
    read: (value) => ({ enableWebsocket: value === true }),
  },
  dashboard: {
    type: "boolean",
    help:
      "Serve the live dashboard at / (a read-only page over /ws; needs --enable-websocket)",
    default: "true",
    read: (value) => ({ dashboard: value === true }),
  },
  source: {
    type: "string",
    value: "SRC",
    help:
      "'kubernetes'; a directory of manifests to serve instead of a cluster; or 'demo', the example cluster built in",
    default: "kubernetes",
    read: (value, what) => {
      if (String(value).trim() === "") {
        throw new UsageError(
          `${what} must be kubernetes, demo or a directory, got ''.`,
        );
      }
      return { source: String(value) };
    },
  },
  kubeconfig: {
    type: "string",
    value: "PATH",
    help:
      "Kubeconfig file; default $KUBECONFIG, ~/.kube/config, then in-cluster",
    read: (value) => ({ kubeconfig: String(value) }),
  },
  context: {
    type: "string",
    value: "NAME",
    help: "Kubeconfig context to use",
    read: (value) => ({ context: String(value) }),
  },
  namespace: {
    type: "string",
    short: "n",
    multiple: true,
    value: "NS",
    help:
      "Watch namespaced resources only in NS (repeatable, or comma-separated)",
    read: (value, what) => ({
      namespaces: list(value).map((namespace) => {
        const checked = v.safeParse(NamespaceSchema, namespace);
        if (checked.success) return checked.output;
        throw new UsageError(
          `${what}: '${namespace}' is not a namespace name (${
            checked.issues[0].message.replace(/\.$/, "")
          }).`,
        );
      }),
    }),
  },
  "history-size": {
    type: "string",
    value: "N",
    help: "Events each topic keeps for resume and 'request events'",
    default: String(DEFAULT_HISTORY_SIZE),
    read: wholeNumber("historySize", { min: 1, max: 1_000_000 }),
  },
  "allowed-origins": {
    type: "string",
    multiple: true,
    value: "ORIGIN",
    help:
      "Browser origins allowed to connect, e.g. https://ops.example.com, https://*.example.com or * (repeatable)",
    read: (value, what) => {
      const allowedOrigins = list(value);
      try {
        checkOriginPatterns(allowedOrigins);
      } catch (error) {
        throw new UsageError(
          (error as Error).message.replace("--allowed-origins", what),
        );
      }
      return { allowedOrigins };
    },
  },
  "allowed-hosts": {
    type: "string",
    multiple: true,
    value: "HOST",
    help:
      "Host names clients may use besides IP addresses and localhost, e.g. dorgu-ws.dorgu-system.svc or *.example.com (repeatable); guards against DNS rebinding",
    read: (value, what) => {
      const allowedHosts = list(value);
      try {
        checkHostPatterns(allowedHosts);
      } catch (error) {
        throw new UsageError(
          (error as Error).message.replace("--allowed-hosts", what),
        );
      }
      return { allowedHosts };
    },
  },
  auth: {
    type: "string",
    value: "MODE",
    help:
      "'none'; 'token' (bearer tokens listed in --token-file); or 'kubernetes' (TokenReview, and namespaces the user may list)",
    default: "none",
    read: (value, what) => ({
      auth: parseChoice(String(value), what, { choices: AUTH_MODES }),
    }),
  },
  "token-file": {
    type: "string",
    value: "PATH",
    help: "Lines of 'token,user[,namespaces]' for --auth token",
    read: (value) => ({ tokenFile: String(value) }),
  },
  "tls-cert-file": {
    type: "string",
    value: "PATH",
    help:
      "Serve TLS (wss://, https://) with this PEM certificate chain; re-read when it changes. Needs --tls-private-key-file",
    read: (value) => ({ tlsCertFile: String(value) }),
  },
  "tls-private-key-file": {
    type: "string",
    value: "PATH",
    help: "The PEM private key of --tls-cert-file",
    read: (value) => ({ tlsPrivateKeyFile: String(value) }),
  },
  "max-connections": {
    type: "string",
    value: "N",
    help: "Open WebSocket connections allowed at once",
    default: "10000",
    read: wholeNumber("maxConnections", { min: 1, max: 1_000_000 }),
  },
  "max-pending-connections": {
    type: "string",
    value: "N",
    help:
      "Connections not yet upgraded allowed at once; when full, the oldest one still sending its request is closed",
    default: "256",
    read: wholeNumber("maxPendingConnections", { min: 1, max: 1_000_000 }),
  },
  "header-timeout": {
    type: "string",
    value: "DUR",
    help: "Time a client has to send its HTTP request head",
    default: "10s",
    read: duration("headerTimeoutMs"),
  },
  "rate-limit": {
    type: "string",
    value: "N",
    help: "Messages per second a client may send, on average",
    default: "20",
    read: wholeNumber("rateLimit", { min: 1, max: 100_000 }),
  },
  "rate-burst": {
    type: "string",
    value: "N",
    help: "Messages a client may send in one burst",
    default: "50",
    read: wholeNumber("rateBurst", { min: 1, max: 100_000 }),
  },
  "send-buffer": {
    type: "string",
    value: "N",
    help: "Messages a client may leave unread before its events are dropped",
    default: "256",
    read: wholeNumber("sendBuffer", { min: 1, max: 1_000_000 }),
  },
  "send-buffer-bytes": {
    type: "string",
    value: "SIZE",
    help: "Bytes a client may leave unread before its events are dropped",
    default: "4MiB",
    read: (value, what) => ({
      sendBufferBytes: parseSize(String(value), what),
    }),
  },
  "write-timeout": {
    type: "string",
    value: "DUR",
    help: "Close a client that takes nothing for this long",
    default: "10s",
    read: duration("writeTimeoutMs"),
  },
  "read-timeout": {
    type: "string",
    value: "DUR",
    help: "Close a client silent for this long; pings go out at half of it",
    default: "60s",
    read: duration("readTimeoutMs"),
  },
  "max-message-size": {
    type: "string",
    value: "SIZE",
    help: "Largest message a client may send (at least 1KiB)",
    default: "512KiB",
    read: (value, what) => {
      const maxMessageBytes = parseSize(String(value), what);
      if (maxMessageBytes < 1024) {
        throw new UsageError(
          `${what} must be at least 1KiB, got '${value}'.`,
        );
      }
      return { maxMessageBytes };
    },
  },
  "max-message-frames": {
    type: "string",
    value: "N",
    help:
      "Most frames one message may take (fragments cost CPU even when empty)",
    default: String(DEFAULT_MAX_MESSAGE_FRAMES),
    read: wholeNumber("maxMessageFrames", { min: 1, max: 1 << 30 }),
  },
  "message-timeout": {
    type: "string",
    value: "DUR",
    help: "Time a client has to finish a message it has started sending",
    default: "10s",
    read: duration("messageTimeoutMs"),
  },
  "log-level": {
    type: "string",
    value: "LEVEL",
    help: "debug, info, warn or error",
    default: "info",
    read: (value, what) => ({
      logLevel: parseChoice(String(value), what, { choices: LOG_LEVELS }),
    }),
  },
  help: { type: "boolean", short: "h", help: "Show this help", env: false },
};

/**
 * Parses a listen address: `:9090` (every interface), `9090`,
 * `127.0.0.1:9090`, `[::1]:9090` or `localhost:9090`. An empty hostname
 * means every interface. `what` names what set it, for the message.
 */
export function parseListenAddress(
  raw: string,
  what = "--websocket-addr",
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
      `${what} must look like :9090, 127.0.0.1:9090 or [::1]:9090, got '${raw}'.`,
    );
  }
  return { hostname, port: Number(port) };
}

type Reader = NonNullable<ServeFlag["read"]>;

function wholeNumber(
  key: keyof ServeConfig,
  range: { min: number; max: number },
): Reader {
  return (value, what) => ({ [key]: parseInteger(String(value), what, range) });
}

function duration(key: keyof ServeConfig): Reader {
  return (value, what) => ({ [key]: parseDuration(String(value), what) });
}

function list(value: FlagValue): string[] {
  return (Array.isArray(value) ? value : [String(value)]).flatMap((item) =>
    item.split(",")
  ).map((item) => item.trim()).filter(Boolean);
}
