/**
 * `dorgu-ws dashboard`: a cluster's live dashboard on this machine, in one
 * command, read with the user's own kubeconfig credentials and RBAC. It
 * checks the credentials and permissions first (dashboard_preflight.ts:
 * one line and exit 1 for what will not heal), runs `serve`'s own wiring
 * (the Kubernetes source, the hub, the transport, the page) on 127.0.0.1
 * behind a {@link DashboardLock}, prints the URL with its secret, opens a
 * browser, and stops on Ctrl-C or SIGTERM with exit 0.
 *
 * @module
 */
import { redactUrl } from "../redact.ts";
import { DashboardLock } from "./dashboard_lock.ts";
import {
  dashboardHelp,
  type DashboardOptions,
  parseDashboardArgs,
} from "./dashboard_flags.ts";
import { preflight } from "./dashboard_preflight.ts";
import { type Launch, openInBrowser } from "./open_browser.ts";
import { type RunningServer, startServer, stopSignal } from "./serve.ts";

/** Clients get this long to close when the dashboard stops. */
const GRACE_MS = 1000;

/** Runs `dorgu-ws dashboard ARGS`; resolves to the exit code. */
export async function runDashboard(args: string[]): Promise<number> {
  const options = parseDashboardArgs(args);
  if (options === "help") {
    console.log(dashboardHelp());
    return 0;
  }
  // Listening from the start: a Ctrl-C while it starts stops it cleanly
  // once started, rather than killing it halfway.
  const stopped = stopSignal();
  let launch: Launch | undefined;
  const { server, lock, target } = await start(options, {
    onExchange: () => launch?.remove(),
  });
  const { hostname, port } = server.addr;
  lock.listening(port);
  const url = lock.url(`http://${urlHost(hostname)}:${port}/`);
  console.log(
    `Serving the dashboard of context ${target.context} (${target.server}), ${
      target.namespaces.length
        ? `namespace${target.namespaces.length > 1 ? "s" : ""} ${
          target.namespaces.join(", ")
        }`
        : "all namespaces"
    }.
Open it with this URL; its secret lets a browser in, so keep it to yourself:

    ${url}

Press Ctrl-C to stop.`,
  );
  if (options.browser) {
    launch = await openInBrowser(url);
    launch.outcome.then((problem) => {
      if (problem) {
        console.error(
          `dorgu-ws: Could not open a browser: ${problem}. Open the URL above.`,
        );
      }
    });
  }
  await stopped;
  await Promise.all([server.shutdown(GRACE_MS), launch?.remove()]);
  return 0;
}

/** Checks the credentials and permissions, then starts the locked server. */
async function start(
  options: DashboardOptions,
  hooks: { onExchange: () => void },
): Promise<{
  server: RunningServer;
  lock: DashboardLock;
  target: { context: string; server: string; namespaces: string[] };
}> {
  const { config } = options;
  const { CredentialLoader, KubeClient } = await import("../kube/mod.ts");
  // A kubeconfig, never a pod's service account.
  const credentials = new CredentialLoader({
    kubeconfig: config.kubeconfig,
    context: config.context,
    inCluster: false,
  });
  const access = await credentials.load();
  const client = new KubeClient(credentials);
  try {
    const warnings = await preflight(client, {
      access,
      namespaces: config.namespaces,
    });
    for (const warning of warnings) console.error(`dorgu-ws: ${warning}`);
  } finally {
    client.close();
  }
  const target = {
    context: access.context ?? config.context ?? "",
    server: redactUrl(access.server),
    namespaces: config.namespaces,
  };
  const lock = new DashboardLock(target, hooks);
  try {
    const server = await startServer(config, { credentials, lock });
    return { server, lock, target };
  } catch (error) {
    if ((error as Error).cause instanceof Deno.errors.AddrInUse) {
      throw new Error(
        `Cannot listen on ${config.hostname}:${config.port}: it is already in use. Pass another --port, or leave it out for a free one.`,
      );
    }
    throw error;
  }
}

/** The host part of a URL for a bound address; loopback for a wildcard. */
function urlHost(hostname: string): string {
  if (hostname === "0.0.0.0") return "127.0.0.1";
  if (hostname === "::") return "[::1]";
  return hostname.includes(":") ? `[${hostname}]` : hostname;
}
