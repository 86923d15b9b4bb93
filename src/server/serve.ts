/**
 * Starting and stopping the service: the hub, the state and its source,
 * `Deno.serve`, the write-timeout sweep, and a graceful SIGTERM.
 */
import { Dispatcher, Hub } from "../hub/mod.ts";
// Types only: the Kubernetes modules load when a Kubernetes feature is on.
import type { CredentialLoader } from "../kube/mod.ts";
import { createLogger, type Logger } from "../log.ts";
import type { Source } from "../sources/source.ts";
import { createState } from "../sources/state.ts";
import type { Store } from "../sources/store.ts";
import { VERSION } from "../version.ts";
import { type Authenticator, TokenFileAuthenticator } from "./auth.ts";
import { parseServeArgs, type ServeConfig, serveHelp } from "./config.ts";
import { createHandler } from "./http.ts";

/** Options for {@link startServer}. */
export interface StartOptions {
  /** Structured log; default JSON lines on stderr at the configured level. */
  log?: Logger;
  /** Builds the source instead of `config.source` (benchmarks use this). */
  source?: (store: Store, log: Logger) => Source;
  /** Pins the epoch (tests). */
  epoch?: string;
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
  const dispatcher = new Dispatcher(hub, queries, {
    maxMessageBytes: config.maxMessageBytes,
    log,
  });
  const credentials = kubeCredentials(config);
  const authenticator = await createAuthenticator(config, {
    log,
    credentials,
  });
  const source = options.source?.(store, log) ??
    await createSource(config, store, { log, credentials });
  await source.start();

  const handler = createHandler({
    config,
    hub,
    dispatcher,
    store,
    source,
    authenticator,
    log,
  });
  const server = listen(config, handler.handle, log);
  const sweepEvery = Math.min(1000, Math.max(50, config.writeTimeoutMs / 4));
  const sweeper = setInterval(() => {
    hub.sweep(performance.now(), config.writeTimeoutMs);
  }, sweepEvery);
  log.info("dorgu-ws is serving", {
    version: VERSION,
    addr: server.addr.hostname.includes(":")
      ? `[${server.addr.hostname}]:${server.addr.port}`
      : `${server.addr.hostname}:${server.addr.port}`,
    source: config.source,
    epoch: hub.epoch,
  });

  let stopping: Promise<void> | undefined;
  return {
    addr: server.addr,
    hub,
    store,
    source,
    shutdown(graceMs = 4000) {
      stopping ??= (async () => {
        handler.drain();
        clearInterval(sweeper);
        source.stop();
        hub.closeAll("The server is shutting down.");
        let timer: ReturnType<typeof setTimeout> | undefined;
        await Promise.race([
          server.shutdown(),
          new Promise((resolve) => timer = setTimeout(resolve, graceMs)),
        ]);
        clearTimeout(timer);
        log.info("dorgu-ws stopped");
      })();
      return stopping;
    },
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

function listen(
  config: ServeConfig,
  handle: (request: Request) => Promise<Response>,
  log: Logger,
): Deno.HttpServer<Deno.NetAddr> {
  const serve = (hostname: string) => {
    try {
      return Deno.serve(
        { hostname, port: config.port, onListen: () => {} },
        handle,
      );
    } catch (error) {
      if (error instanceof Deno.errors.AddrInUse) {
        throw new Error(
          `Cannot listen on port ${config.port}: it is already in use. Stop the other process or pass another --websocket-addr.`,
        );
      }
      throw error;
    }
  };
  if (config.hostname !== "") return serve(config.hostname);
  // Like Go's ":9090": every interface, IPv6 and IPv4 where the host has
  // IPv6, IPv4 alone where it does not.
  try {
    return serve("[::]");
  } catch (error) {
    if (!(error instanceof Deno.errors.AddrNotAvailable)) throw error;
    log.debug("IPv6 is unavailable; listening on IPv4 only", { error });
    return serve("0.0.0.0");
  }
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
  await new Promise<void>((resolve) => {
    const stop = () => {
      server.shutdown().then(() => resolve());
    };
    Deno.addSignalListener("SIGTERM", stop);
    Deno.addSignalListener("SIGINT", stop);
  });
  return 0;
}
