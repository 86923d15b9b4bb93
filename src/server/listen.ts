/**
 * The listening socket: on the `--websocket-addr` interface (every
 * interface, IPv6 and IPv4, for `:PORT`), plain or TLS, and for TLS the
 * renewal that swaps in a listener with the renewed pair.
 *
 * @module
 */
import type { Logger } from "../log.ts";
import type { HttpServer } from "../transport/mod.ts";
import type { ServeConfig } from "./config.ts";
import type { TlsStats } from "./tls.ts";

/** A listener and the interface address it was bound to. */
export interface Bound {
  listener: Deno.Listener;
  hostname: string;
}

function listen(
  config: ServeConfig,
  options: { log: Logger; open: (hostname: string) => Deno.Listener },
): Bound {
  const open = (hostname: string) => {
    try {
      return { listener: options.open(hostname), hostname };
    } catch (error) {
      if (error instanceof Deno.errors.AddrInUse) {
        throw new Error(
          `Cannot listen on port ${config.port}: it is already in use. Stop the other process or pass another --websocket-addr.`,
          { cause: error },
        );
      }
      throw error;
    }
  };
  if (config.hostname !== "") return open(config.hostname);
  // Like Go's ":9090": every interface, IPv6 and IPv4 where the host has
  // IPv6, IPv4 alone where it does not.
  try {
    return open("::");
  } catch (error) {
    if (!(error instanceof Deno.errors.AddrNotAvailable)) throw error;
    options.log.debug("IPv6 is unavailable; listening on IPv4 only", {
      error,
    });
    return open("0.0.0.0");
  }
}

/**
 * Listens with TLS when `--tls-cert-file` is set (and renews the pair once
 * the transport runs), plain TCP otherwise.
 */
export async function listenFor(
  config: ServeConfig,
  options: { log: Logger },
): Promise<{ bound: Bound; tls?: TlsServing }> {
  if (config.tlsCertFile === undefined) {
    return {
      bound: listen(config, {
        log: options.log,
        open: (hostname) => Deno.listen({ hostname, port: config.port }),
      }),
    };
  }
  const { CertificateReloader, listenTls, readPair, RELOAD_INTERVAL_MS } =
    await import("./tls.ts");
  const files = {
    certFile: config.tlsCertFile,
    keyFile: config.tlsPrivateKeyFile as string,
  };
  const pair = await readPair(files);
  const bound = listen(config, {
    log: options.log,
    open: (hostname) => listenTls({ hostname, port: config.port }, pair),
  });
  const port = (bound.listener.addr as Deno.NetAddr).port;
  let current = bound.listener;
  const tls: TlsServing = {
    start(server) {
      const reloader = new CertificateReloader(files, {
        current: pair,
        everyMs: RELOAD_INTERVAL_MS,
        log: options.log,
        // The new listener takes new connections before the old one
        // closes: not one connection attempt is refused.
        swap: (next) => {
          const fresh = listenTls({ hostname: bound.hostname, port }, next);
          server.listen(fresh);
          server.unlisten(current);
          current = fresh;
        },
      });
      return reloader;
    },
  };
  return { bound, tls };
}

/** TLS that starts renewing once the transport runs. */
export interface TlsServing {
  start(server: HttpServer): {
    readonly stats: TlsStats;
    stop(): Promise<void>;
  };
}
