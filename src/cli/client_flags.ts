/**
 * The client's flags, in one table, and which of them each command takes.
 * Kept apart from their parsing so that `dorgu-ws version` and the
 * completion scripts load no more than the table.
 *
 * @module
 */
import type { FlagSpecs } from "../flags.ts";

/** Every client flag; each command takes the ones {@link COMMAND_FLAGS} lists. */
export const CLIENT_FLAGS: FlagSpecs = {
  namespace: {
    type: "string",
    short: "n",
    value: "NS",
    help:
      "Only this namespace (default: every namespace, or the server's namespace in the config file)",
    env: false,
  },
  "all-namespaces": {
    type: "boolean",
    short: "A",
    help: "Every namespace, whatever the config file's server says",
    env: false,
  },
  output: {
    type: "string",
    short: "o",
    value: "FORMAT",
    help: "get: table, wide, name, json or yaml; watch: text or json",
    env: false,
  },
  "no-headers": {
    type: "boolean",
    help: "Print tables without the header line",
    env: false,
  },
  selector: {
    type: "string",
    short: "l",
    value: "SELECTOR",
    help: "Only items whose columns match, e.g. -l tier=critical,phase!=Active",
    env: false,
  },
  watch: {
    type: "boolean",
    short: "w",
    help: "After listing, print each change as a row",
    env: false,
  },
  "watch-only": {
    type: "boolean",
    help: "Print changes only, not the current state or history first",
    env: false,
  },
  type: {
    type: "string",
    value: "TYPE",
    help: "events: only Normal or Warning",
    env: false,
  },
  reason: {
    type: "string",
    value: "REASON",
    help: "events: only this reason, e.g. BackOff or ValidationFailed",
    env: false,
  },
  for: {
    type: "string",
    value: "KIND/NAME",
    help: "events: only those about this object, e.g. persona/storefront",
    env: false,
  },
  limit: {
    type: "string",
    value: "N",
    help: "events: only the newest N (default: all the server holds)",
    env: false,
  },
  url: {
    type: "string",
    value: "URL",
    help: "The server's WebSocket endpoint (default ws://localhost:9090/ws)",
  },
  server: {
    type: "string",
    value: "NAME",
    help: "A server named in ~/.config/dorgu-ws/config.yaml",
    env: false,
  },
  context: {
    type: "string",
    value: "NAME",
    help:
      "Read the cluster of this kubeconfig context itself, with your own credentials (no dorgu-ws server)",
    env: false,
  },
  kubeconfig: {
    type: "string",
    value: "PATH",
    help:
      "Read the cluster of this kubeconfig (its current context, or --context) itself",
    env: false,
  },
  token: {
    type: "string",
    value: "TOKEN",
    help: "Bearer token, for servers run with --auth",
  },
  "ca-file": {
    type: "string",
    value: "PATH",
    help:
      "PEM certificate of the CA that signed a wss:// server's certificate (a private CA)",
    env: false,
  },
  "insecure-skip-tls-verify": {
    type: "boolean",
    help:
      "Do not check a wss:// server's certificate: a lab server only, anyone on the way can read and change the traffic",
    env: false,
  },
  timeout: {
    type: "string",
    value: "DUR",
    help: "How long to wait to connect and for each reply",
    default: "10s",
    env: false,
  },
  help: { type: "boolean", short: "h", help: "Show this help", env: false },
};

const TLS: string[] = ["ca-file", "insecure-skip-tls-verify"];
const CONNECTION: string[] = [
  "context",
  "kubeconfig",
  "url",
  "server",
  "token",
  ...TLS,
  "timeout",
  "help",
];
/** The flags only `events` takes. */
export const EVENT_FLAGS: string[] = ["type", "reason", "for", "limit"];

/** The flags each client command takes. */
export const COMMAND_FLAGS: Record<"get" | "watch" | "version", string[]> = {
  get: [
    "namespace",
    "all-namespaces",
    "output",
    "no-headers",
    "selector",
    "watch",
    "watch-only",
    ...EVENT_FLAGS,
    ...CONNECTION,
  ],
  watch: [
    "namespace",
    "all-namespaces",
    "output",
    "selector",
    "watch-only",
    ...EVENT_FLAGS,
    ...CONNECTION,
  ],
  version: ["output", "url", "server", ...TLS, "timeout", "help"],
};

/** The flags of `command`, for parsing and help. */
export function flagsOf(command: keyof typeof COMMAND_FLAGS): FlagSpecs {
  return Object.fromEntries(
    COMMAND_FLAGS[command].map((name) => [name, CLIENT_FLAGS[name]]),
  );
}
