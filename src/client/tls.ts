/**
 * TLS options for `wss://`: a private CA to trust, or no check at all.
 * Runtime-specific, so loaded only when a client is given TLS options: on
 * Deno, a CA goes through `Deno.createHttpClient`, and skipping the check
 * (which no Deno TLS API can) through the `ws` package on `node:tls`; on
 * Node, both through `ws`. A browser decides trust itself.
 *
 * @module
 */
import type { Channel, Dialer } from "./channel.ts";
import {
  openSocket,
  socketInit,
  webSocketDialer,
  type WebSocketDialOptions,
  type WebSocketLike,
} from "./websocket.ts";

/** How a `wss://` server's certificate is checked. */
export interface TlsOptions {
  /** PEM certificates of the CAs to trust besides the system's. */
  caCerts?: string[];
  /** Do not check the certificate at all (a lab server). */
  insecure?: boolean;
}

interface DenoTls {
  createHttpClient(options: { caCerts: string[] }): { close(): void };
}

function denoRuntime(): DenoTls | undefined {
  const deno = (globalThis as { Deno?: DenoTls }).Deno;
  return typeof deno?.createHttpClient === "function" ? deno : undefined;
}

/** A dialer for `url` that applies `tls` (ignored for `ws://`). */
export function tlsDialer(
  url: string,
  options: WebSocketDialOptions & { tls: TlsOptions },
): Dialer {
  const { tls } = options;
  return async (signal) => {
    if (!url.startsWith("wss:") || (!tls.insecure && !tls.caCerts?.length)) {
      return await webSocketDialer(url, options)(signal);
    }
    const init = socketInit(options);
    const deno = denoRuntime();
    if (deno && !tls.insecure) {
      const client = deno.createHttpClient({ caCerts: tls.caCerts! });
      try {
        const channel = await openSocket(
          () => runtime(url, { ...init, client }),
          signal,
        );
        return closing(channel, () => client.close());
      } catch (error) {
        client.close();
        throw error;
      }
    }
    if (!deno && !isNode()) {
      throw new TypeError(
        "A browser decides which certificates it trusts; TLS options apply on Deno and Node only.",
      );
    }
    // Loaded only here: the package and Node's TLS cost start-up time.
    const { default: NodeWebSocket } = await import("ws");
    return await openSocket(
      () =>
        new NodeWebSocket(url, init.protocols, {
          headers: init.headers,
          ...(tls.insecure
            ? { rejectUnauthorized: false }
            : { ca: tls.caCerts }),
        }) as unknown as WebSocketLike,
      signal,
    );
  };
}

function isNode(): boolean {
  const process = (globalThis as { process?: { versions?: { node?: string } } })
    .process;
  return typeof process?.versions?.node === "string";
}

function runtime(url: string, init: object): WebSocketLike {
  const Socket = WebSocket as unknown as new (
    url: string,
    init: object,
  ) => WebSocketLike;
  return new Socket(url, init);
}

// Releases `release` once the channel has closed.
function closing<T extends Channel>(
  channel: T,
  release: () => void,
): T {
  const listen = channel.listen.bind(channel);
  channel.listen = (listener) =>
    listen({
      message: (text) => listener.message(text),
      close: (code, reason) => {
        release();
        listener.close(code, reason);
      },
    });
  return channel;
}
