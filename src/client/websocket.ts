/**
 * The default way to a server: a WebSocket. Works on any runtime with a
 * standard `WebSocket` (Deno, browsers, Node 22+); the token rides as an
 * `Authorization: Bearer` header where the runtime can send headers, and
 * as the `dorgu-ws` + `bearer.<base64url>` subprotocol pair where it
 * cannot (a browser). TLS options live in `tls.ts`, loaded only when used.
 *
 * @module
 */
import { type Channel, ChannelInbox, type Dialer } from "./channel.ts";

/** The subprotocol the server picks; the token rides beside it. */
export const SUBPROTOCOL = "dorgu-ws";

/**
 * What this library uses of a WebSocket: the standard interface, which
 * Deno's, the browsers', Node's and the `ws` package's all offer.
 */
export interface WebSocketLike {
  /** `WebSocket.OPEN` is 1. */
  readonly readyState: number;
  /** Sends a text message. */
  send(data: string): void;
  /** Starts the closing handshake. */
  close(code?: number, reason?: string): void;
  /** Called once the socket is open. */
  onopen: ((event: never) => void) | null;
  /** Called when the socket fails; a browser says nothing of why. */
  onerror: ((event: never) => void) | null;
  /** Called with a `{code, reason}` event when the socket closes. */
  onclose: ((event: never) => void) | null;
  /** Called with a `{data}` event for each message. */
  onmessage: ((event: never) => void) | null;
}

/** How the token is sent. */
export type TokenCarrier = "header" | "subprotocol";

/** Options for {@link webSocketDialer}. */
export interface WebSocketDialOptions {
  /** Bearer token for servers run with `--auth`. */
  token?: string;
  /**
   * How the token is sent: `header` (`Authorization: Bearer`), or
   * `subprotocol`. Default: a header where the runtime can send one.
   */
  tokenAs?: TokenCarrier;
  /** Makes the socket; by default the runtime's `WebSocket`. */
  create?: (url: string, init: SocketInit) => WebSocketLike;
}

/** What a socket is made with. */
export interface SocketInit {
  /** Subprotocols to offer. */
  protocols: string[];
  /** Extra request headers (empty where the runtime cannot send them). */
  headers: Record<string, string>;
}

/** Whether this runtime's `WebSocket` takes request headers (Deno, Node). */
export function canSendHeaders(): boolean {
  const global = globalThis as { Deno?: unknown; process?: unknown };
  return typeof global.Deno === "object" ||
    typeof (global.process as { versions?: { node?: string } } | undefined)
        ?.versions?.node === "string";
}

/** The `Sec-WebSocket-Protocol` entries carrying `token`. */
export function subprotocols(token: string | undefined): string[] {
  if (token === undefined) return [SUBPROTOCOL];
  const bytes = new TextEncoder().encode(token);
  const base64 = btoa(String.fromCharCode(...bytes)).replaceAll("+", "-")
    .replaceAll("/", "_").replaceAll("=", "");
  return [SUBPROTOCOL, `bearer.${base64}`];
}

/** The protocols and headers that carry `options.token`. */
export function socketInit(options: WebSocketDialOptions): SocketInit {
  const carrier = options.tokenAs ??
    (canSendHeaders() ? "header" : "subprotocol");
  if (carrier === "subprotocol") {
    return { protocols: subprotocols(options.token), headers: {} };
  }
  if (!canSendHeaders()) {
    throw new TypeError(
      "This runtime's WebSocket cannot send headers; send the token as a subprotocol (tokenAs: 'subprotocol').",
    );
  }
  return {
    protocols: [],
    headers: options.token === undefined
      ? {}
      : { authorization: `Bearer ${options.token}` },
  };
}

function runtimeSocket(url: string, init: SocketInit): WebSocketLike {
  if (!canSendHeaders()) return new WebSocket(url, init.protocols);
  // Deno's and Node's WebSocket take an options object with headers.
  const Socket = WebSocket as unknown as new (
    url: string,
    init: { protocols: string[]; headers: Record<string, string> },
  ) => WebSocketLike;
  return new Socket(url, init);
}

/** A dialer that opens a WebSocket to `url`. */
export function webSocketDialer(
  url: string,
  options: WebSocketDialOptions = {},
): Dialer {
  return (signal) => {
    const init = socketInit(options);
    const create = options.create ?? runtimeSocket;
    return openSocket(() => create(url, init), signal);
  };
}

/**
 * Waits for a socket to open and wraps it as a {@link Channel}. Rejects
 * with the runtime's words when it fails to open, and closes it when
 * `signal` aborts first.
 */
export function openSocket(
  make: () => WebSocketLike,
  signal: AbortSignal,
): Promise<Channel> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason ?? new Error("Aborted."));
    const socket = make();
    const inbox = new ChannelInbox();
    const abort = () => {
      socket.onopen = socket.onclose = null;
      quietClose(socket, 1000, "");
      reject(signal.reason ?? new Error("Aborted."));
    };
    signal.addEventListener("abort", abort, { once: true });
    let failure = "";
    socket.onerror = (event: { message?: string }) => {
      failure = event.message ?? failure;
    };
    socket.onclose = (event: { code: number }) => {
      signal.removeEventListener("abort", abort);
      reject(new Error(failure || `closed before opening (${event.code})`));
    };
    socket.onmessage = (event: { data: unknown }) =>
      inbox.message(String(event.data));
    socket.onopen = () => {
      signal.removeEventListener("abort", abort);
      let unanswered: ReturnType<typeof setTimeout> | undefined;
      socket.onclose = (event: { code: number; reason: string }) => {
        clearTimeout(unanswered);
        inbox.close(event.code, event.reason);
      };
      resolve({
        send: (text) => socket.send(text),
        close: (code, reason) => {
          quietClose(socket, code, reason);
          // Deno's WebSocket waits for the server's close frame without
          // end; a server that never sends one would hold whoever waits
          // for the close (a follower, a Ctrl-C) for ever.
          unanswered ??= setTimeout(() => {
            socket.onclose = socket.onmessage = null;
            inbox.close(1006, "");
          }, CLOSE_WAIT_MS);
        },
        listen: (listener) => inbox.listen(listener),
      });
    };
  });
}

// How long a close waits for the server's answer, as browsers wait.
const CLOSE_WAIT_MS = 2000;

function quietClose(socket: WebSocketLike, code: number, reason: string) {
  try {
    socket.close(code, reason);
  } catch {
    // Already closed, or never opened.
  }
}
