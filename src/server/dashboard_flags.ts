/**
 * `dorgu-ws dashboard` flags: which cluster, as kubectl names it
 * (`--context`, `--kubeconfig`, `-n`); where to listen (loopback, a free
 * port, unless asked otherwise); whether to open a browser. They make a
 * `serve` config, so the dashboard runs exactly `serve`'s wiring.
 *
 * None of them reads a `DORGU_WS_*` variable: those belong to servers
 * (a `DORGU_WS_NAMESPACE` set for one must not narrow a laptop's view).
 *
 * @module
 */
import { formatFlags, parseInteger, UsageError } from "../flags.ts";
import {
  DEFAULT_CONFIG,
  parseFlagsOnly,
  readFlags,
  SERVE_FLAGS,
  type ServeConfig,
  type ServeFlag,
} from "./config.ts";

/** The flags of `dorgu-ws dashboard`, in the order the help lists them. */
export const DASHBOARD_FLAGS: Record<string, ServeFlag> = {
  context: {
    ...SERVE_FLAGS.context,
    env: false,
    help: "Kubeconfig context to show (default: the current context)",
  },
  kubeconfig: {
    ...SERVE_FLAGS.kubeconfig,
    env: false,
    help: "Kubeconfig file (default: $KUBECONFIG, then ~/.kube/config)",
  },
  namespace: {
    ...SERVE_FLAGS.namespace,
    env: false,
    help:
      "Show only namespace NS (repeatable, or comma-separated): for RBAC that grants only some",
  },
  address: {
    type: "string",
    value: "ADDR",
    default: "127.0.0.1",
    env: false,
    help: "Listen address; one that is not loopback needs --allow-non-loopback",
    read: (value) => ({ hostname: String(value).replace(/^\[(.*)\]$/, "$1") }),
  },
  port: {
    type: "string",
    value: "N",
    default: "0",
    env: false,
    help: "Port to listen on; 0 picks a free one",
    read: (value, what) => ({
      port: parseInteger(String(value), what, { min: 0, max: 65535 }),
    }),
  },
  "no-browser": {
    type: "boolean",
    env: false,
    help: "Print the URL only; do not open a browser",
  },
  "allow-non-loopback": {
    type: "boolean",
    env: false,
    help:
      "Listen on an --address other than loopback (plain HTTP: the cluster's data and the secret cross the network unencrypted)",
  },
  "log-level": { ...SERVE_FLAGS["log-level"], default: "warn", env: false },
  help: SERVE_FLAGS.help,
};

/** What `dorgu-ws dashboard` was asked for. */
export interface DashboardOptions {
  /** The server to run: serve's config with the dashboard's choices. */
  config: ServeConfig;
  /** Whether to open the URL in a browser. */
  browser: boolean;
}

/** `dorgu-ws dashboard --help`. */
export function dashboardHelp(): string {
  return `Usage: dorgu-ws dashboard [flags]

Serves the live dashboard of a Kubernetes cluster on this machine, read with
your own kubeconfig credentials and RBAC: nothing is installed in the
cluster. It listens on 127.0.0.1 (a free port), prints a URL that carries a
secret, opens it in your browser, and stops on Ctrl-C. Only a browser that
opened that URL (or a client that sends the secret as a bearer token) gets
any of the cluster's data.

Examples:
  # The current kubeconfig context
  dorgu-ws dashboard

  # Another context; two namespaces, for a user who may read only those
  dorgu-ws dashboard --context prod -n payments -n checkout

  # A kubeconfig file, a fixed port, no browser (print the URL only)
  dorgu-ws dashboard --kubeconfig ~/.kube/lab.yaml --port 8001 --no-browser

Flags:
${formatFlags(DASHBOARD_FLAGS)}`;
}

/** Parses `dashboard` arguments. Throws {@link UsageError}. */
export function parseDashboardArgs(
  args: string[],
): DashboardOptions | "help" {
  const parsed = parseFlagsOnly(args, DASHBOARD_FLAGS, {
    command: "dashboard",
  });
  if (parsed === "help") return "help";
  const config: ServeConfig = {
    ...DEFAULT_CONFIG,
    source: "kubernetes",
    dashboard: true,
    enableWebsocket: true,
    auth: "none",
    ...readFlags(DASHBOARD_FLAGS, parsed),
  };
  checkAddress(config.hostname, parsed.values["allow-non-loopback"] === true);
  return { config, browser: parsed.values["no-browser"] !== true };
}

function checkAddress(hostname: string, allowed: boolean): void {
  const loopback = hostname === "localhost" || hostname === "::1" ||
    /^127(\.\d{1,3}){3}$/.test(hostname);
  const ip = /^[\d.]+$/.test(hostname) || hostname.includes(":");
  if (!loopback && !ip) {
    throw new UsageError(
      `--address must be an IP address or localhost, got '${hostname}'.`,
    );
  }
  if (loopback || allowed) return;
  throw new UsageError(
    `--address ${hostname} is not a loopback address: the dashboard serves plain HTTP, so the cluster's data and the secret that guards it would cross the network unencrypted, and anyone who can reach the port could try it. Pass --allow-non-loopback too if that is what you want (a VM whose port only you can reach, say).`,
  );
}
