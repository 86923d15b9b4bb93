/**
 * Starting and stopping the service: the hub, the sources' state and its
 * source, the transport and its routes, and a graceful SIGTERM. The
 * composition root: every other module gets what it needs from here.
 *
 * @module
 */
import { Hub } from "../hub/mod.ts";
// Types only: the Kubernetes modules load when a Kubernetes feature is on.
import type { CredentialLoader } from "../kube/mod.ts";
import type { RequestHandler } from "../transport/mod.ts";
import { createLogger, type Logger, throttleLog } from "../log.ts";
import type { Source } from "../sources/source.ts";
import { createState } from "../sources/state.ts";
import type { Store } from "../sources/store.ts";
import { connectionsAllowedByFileLimit, HttpServer } from "../transport/mod.ts";
import { VERSION } from "../version.ts";
import { type Authenticator, TokenFileAuthenticator } from "./auth.ts";
import { parseServeArgs, type ServeConfig, serveHelp } from "./config.ts";
import { dashboardRoutes, loadDashboard } from "./dashboard.ts";
import {
  asyncApi,
  health,
  loadAsyncApi,
  metrics,
  ready,
  version,
} from "./endpoints.ts";
import { Inbound } from "./inbound.ts";
import { listenFor } from "./listen.ts";
import { MemoryReducer } from "./memory_reducer.ts";
import { readProcessStats } from "./process_stats.ts";
import { createRouter, type Gate } from "./routes.ts";
import { createUpgradeRoute } from "./upgrade.ts";

/** Options for {@link startServer}. */
export interface StartOptions {
  /** Structured log; default JSON lines on stderr at the configured level. */
  log?: Logger;
  /** Builds the source instead of `config.source` (benchmarks use this). */
  source?: (store: Store, log: Logger) => Source;
  /** Pins the epoch (tests). */
  epoch?: string;
  /** Credentials already loaded (and checked) by the caller. */
  credentials?: CredentialLoader;
  /**
   * A gate every request passes after the host rule, and the page's
   * `/ui/session` that goes with it (the laptop dashboard's lock).
   */
  lock?: { gate: Gate; session: RequestHandler };
}

/** A running server. */
export interface RunningServer {
  /** The address it listens on. */
  readonly addr: Deno.NetAddr;
  /** The topic registry. */
  readonly hub: Hub;
  /** The projection cache. */
  readonly store: Store;
  /** The source feeding the cache. */
  readonly source: Source;
  /**
   * Stops accepting, closes every client with 1001 and stops the source.
   * Resolves within about `graceMs` even if clients do not answer.
   */
  shutdown(graceMs?: number): Promise<void>;
}

/** Starts the service described by `config`. */
export async function startServer(
  config: ServeConfig,
  options: StartOptions = {},
): Promise<RunningServer> {
  const log = options.log ?? createLogger({ level: config.logLevel });
  const hub = new Hub({
    historySize: config.historySize,
    epoch: options.epoch,
  });
  const namespaces = config.source === "kubernetes" ? config.namespaces : [];
  const { store, queries } = createState(hub, {
    log,
    namespaces: namespaces.length
      ? { personas: namespaces, deployments: namespaces, events: namespaces }
      : undefined,
  });
  // One rate limit for every line a peer can make repeat.
  const limited = throttleLog(log);
  const inbound = new Inbound(hub, { queries, log, limited });
  const credentials = options.credentials
    ? () => Promise.resolve(options.credentials as CredentialLoader)
    : kubeCredentials(config);
  const authenticator = await createAuthenticator(config, {
    log,
    credentials,
  });
  // The page talks only over /ws: without it there is nothing to show.
  const dashboard = config.dashboard && config.enableWebsocket
    ? dashboardRoutes(await loadDashboard(), {
      authenticator,
      auth: config.auth,
      session: options.lock?.session,
    })
    : [];
  const contract = await loadAsyncApi();
  const source = options.source?.(store, log) ??
    await createSource(config, store, { log, credentials });
  await source.start();

  let draining = false;
  // The routes need the server's counts; the server needs the routes.
  const transport: { server?: HttpServer } = {};
  const upgrade = createUpgradeRoute({
    config,
    hub,
    inbound,
    authenticator,
    log,
    limited,
    openConnections: () => transport.server?.webSockets.size ?? 0,
    draining: () => draining,
  });
  const router = createRouter([
    { path: "/ws", methods: ["*"], handle: upgrade.handle },
    { path: "/health", handle: health },
    {
      path: "/ready",
      handle: () => ready(store.readiness.pending(), { draining }),
    },
    { path: "/version", handle: version },
    { path: "/asyncapi.json", handle: () => asyncApi(contract) },
    {
      path: "/metrics",
      handle: () =>
        metrics({
          connections: upgrade.stats,
          transport: transportStats(transport.server as HttpServer),
          refused: router.refused,
          topics: hub.stats(),
          inbound: inbound.stats,
          resources: store.stats(),
          watches: source.watchStats?.() ?? new Map(),
          ready: !draining && store.readiness.pending().size === 0,
          maxConnections: config.maxConnections,
          process: readProcessStats(),
          tls: renewal?.stats,
        }),
    },
    ...dashboard,
  ], {
    allowedHosts: config.allowedHosts,
    log,
    limited,
    gate: options.lock?.gate,
  });

  const maxFiles = connectionsAllowedByFileLimit();
  if (
    maxFiles !== undefined &&
    config.maxConnections + config.maxPendingConnections > maxFiles
  ) {
    log.warn(
      "The open-file limit allows fewer connections than configured; connections past it are closed as they arrive. Raise the limit (ulimit -n) or lower --max-connections",
      {
        fileLimitConnections: maxFiles,
        maxConnections: config.maxConnections,
        maxPendingConnections: config.maxPendingConnections,
      },
    );
  }
  const { bound, tls } = await listenFor(config, { log });
  const listener = bound.listener;
  const server = new HttpServer(listener, {
    handler: router.handle,
    limits: {
      maxWebSockets: config.maxConnections,
      maxHttp: config.maxPendingConnections,
      headerTimeoutMs: config.headerTimeoutMs,
      writeTimeoutMs: config.writeTimeoutMs,
      maxHeadBytes: 16 * 1024,
      maxFiles,
    },
    websocket: {
      maxMessageBytes: config.maxMessageBytes,
      maxMessageFrames: config.maxMessageFrames,
      messageTimeoutMs: config.messageTimeoutMs,
      sendBufferMessages: config.sendBuffer,
      sendBufferBytes: config.sendBufferBytes,
      pingIntervalMs: config.readTimeoutMs / 2,
      readTimeoutMs: config.readTimeoutMs,
      writeTimeoutMs: config.writeTimeoutMs,
    },
    log,
  });
  const renewal = tls?.start(server);
  const addr = listener.addr as Deno.NetAddr;
  log.info("dorgu-ws is serving", {
    version: VERSION,
    addr: addr.hostname.includes(":")
      ? `[${addr.hostname}]:${addr.port}`
      : `${addr.hostname}:${addr.port}`,
    tls: config.tlsCertFile !== undefined,
    tlsCertFile: config.tlsCertFile,
    auth: config.auth,
    source: config.source,
    namespaces: namespaces.length ? namespaces : undefined,
    websocket: config.enableWebsocket,
    allowedOrigins: config.allowedOrigins.length
      ? config.allowedOrigins
      : undefined,
    allowedHosts: config.allowedHosts.length ? config.allowedHosts : undefined,
    maxConnections: config.maxConnections,
    dashboard: dashboard.length > 0,
    epoch: hub.epoch,
  });

  transport.server = server;
  const reducer = new MemoryReducer({ log });
  reducer.start();
  let stopping: Promise<void> | undefined;
  return {
    addr,
    hub,
    store,
    source,
    shutdown(graceMs = 4000) {
      stopping ??= (async () => {
        draining = true;
        reducer.stop();
        source.stop();
        const clients = server.webSockets.size;
        log.info("dorgu-ws is stopping", { clients });
        await Promise.all([
          server.shutdown(graceMs, "The server is shutting down."),
          renewal?.stop(),
        ]);
        limited.close();
        log.info("dorgu-ws stopped", { clients });
      })();
      return stopping;
    },
  };
}

function transportStats(server: HttpServer) {
  let queuedBytes = 0;
  for (const socket of server.webSockets) queuedBytes += socket.queuedBytes;
  return {
    webSockets: server.webSockets.size,
    http: server.httpConnections,
    shed: server.counters.shed,
    queuedBytes,
  };
}

/**
 * One credential loader for everything that talks to the API server, so an
 * exec plugin runs once per expiry, not once per user of the credentials.
 * Loaded only when a Kubernetes feature is on.
 */
function kubeCredentials(
  config: ServeConfig,
): () => Promise<CredentialLoader> {
  let loader: Promise<CredentialLoader> | undefined;
  return () =>
    loader ??= import("../kube/mod.ts").then(({ CredentialLoader }) =>
      new CredentialLoader({
        kubeconfig: config.kubeconfig,
        context: config.context,
      })
    );
}

async function createAuthenticator(
  config: ServeConfig,
  options: { log: Logger; credentials: ReturnType<typeof kubeCredentials> },
): Promise<Authenticator | undefined> {
  if (config.auth === "token") {
    return await TokenFileAuthenticator.load(config.tokenFile as string, {
      log: options.log,
    });
  }
  if (config.auth !== "kubernetes") return undefined;
  const [{ KubernetesAuthenticator }, { KubeClient }, credentials] =
    await Promise.all([
      import("./kube_auth.ts"),
      import("../kube/mod.ts"),
      options.credentials(),
    ]);
  // Fail at start, with the reason, when there are no credentials at all.
  await credentials.load();
  return new KubernetesAuthenticator(new KubeClient(credentials), {
    log: options.log,
  });
}

async function createSource(
  config: ServeConfig,
  store: Store,
  options: { log: Logger; credentials: ReturnType<typeof kubeCredentials> },
): Promise<Source> {
  const log = options.log;
  // Each source is loaded only when chosen: the Kubernetes client and the
  // YAML parser cost memory and start-up time a server without them saves.
  if (config.source !== "kubernetes") {
    const { DirectorySource } = await import("../sources/directory.ts");
    // `demo` is the example cluster, embedded in the binary.
    const dir = config.source === "demo"
      ? new URL("../../examples/cluster", import.meta.url).pathname
      : config.source;
    return new DirectorySource(dir, store, { log });
  }
  const { KubernetesSource } = await import("../sources/kubernetes.ts");
  return new KubernetesSource(store, {
    credentials: await options.credentials(),
    namespaces: config.namespaces,
    log,
  });
}

/**
 * `dorgu-ws serve`: parses flags, runs until SIGTERM or SIGINT, then shuts
 * down gracefully. Returns the exit code.
 */
export async function runServe(args: string[]): Promise<number> {
  const config = parseServeArgs(args);
  if (config === "help") {
    console.log(serveHelp());
    return 0;
  }
  const server = await startServer(config);
  await stopSignal();
  await server.shutdown();
  return 0;
}

/** Resolves at the first SIGTERM or SIGINT (Ctrl-C). */
export function stopSignal(): Promise<Deno.Signal> {
  return new Promise((resolve) => {
    for (const signal of ["SIGTERM", "SIGINT"] as const) {
      Deno.addSignalListener(signal, () => resolve(signal));
    }
  });
}
