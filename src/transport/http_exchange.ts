/**
 * One HTTP/1.1 connection's exchanges: read a request head within the
 * header timeout, answer it through the handler, write the response within
 * the write timeout, and keep the connection for the next request or
 * switch it to a WebSocket.
 *
 * @module
 */
import type { Logger } from "../log.ts";
import {
  checkFraming,
  HttpError,
  parseRequestHead,
  type RequestHead,
  serializeResponse,
  textResponse,
} from "./http1.ts";
import type { WebSocketConnection } from "./websocket.ts";

/** Who sent a request, and the way to accept it as a WebSocket. */
export interface RequestInfo {
  /** The peer's address, `host:port`. */
  remoteAddr: string;
  /** Whether the connection is TLS. */
  tls: boolean;
  /**
   * Accepts the request as a WebSocket upgrade. Returns the connection,
   * not yet started, and the response the handler must return for the
   * switch to happen. Throws {@link HttpError} for an invalid upgrade or
   * when the connection limit is reached.
   */
  upgrade(
    options?: { protocol?: string },
  ): { socket: WebSocketConnection; response: Response };
}

/** Serves one request; may accept it as a WebSocket with `info.upgrade`. */
export type RequestHandler = (
  request: Request,
  info: RequestInfo,
) => Response | Promise<Response>;

/** A connection that has not (yet) switched to a WebSocket. */
export interface HttpConnection {
  /** The socket. */
  conn: Deno.Conn;
  /**
   * What it is waiting for: its request head, the handler, or the peer to
   * take the response.
   */
  state: "head" | "busy" | "writing";
  /** When the current request head began to be awaited (ms). */
  since: number;
  /** When the wait times out (ms, `performance.now`). */
  deadline: number;
  /** An upgrade the handler accepted, until the switch. */
  upgrade?: { socket: WebSocketConnection; response: Response; accept: string };
}

/** What an exchange needs from its server. */
export interface ExchangeContext {
  /** Serves every request. */
  handler: RequestHandler;
  /** Time limits and the head size limit. */
  limits: {
    headerTimeoutMs: number;
    writeTimeoutMs: number;
    maxHeadBytes: number;
  };
  /** Where handler failures are logged. */
  log: Logger;
  /** Whether the server is shutting down. */
  stopping(): boolean;
  /** Accepts an upgrade (see {@link RequestInfo.upgrade}). */
  accept(
    http: HttpConnection,
    request: Request,
    options?: { protocol?: string },
  ): { socket: WebSocketConnection; response: Response };
  /** Takes over a switched connection, with bytes read past its head. */
  adopt(http: HttpConnection, leftover: Uint8Array): void;
}

// A handler slower than this is cut off (auth calls have their own limits).
const BUSY_LIMIT_MS = 60_000;

/**
 * Serves HTTP requests on `http` until it closes, times out, or switches to
 * a WebSocket. Returns whether the connection was handed to a WebSocket
 * (and so must not be closed by the caller).
 */
export async function serveHttp(
  http: HttpConnection,
  ctx: ExchangeContext,
): Promise<boolean> {
  const limits = ctx.limits;
  const tls = isTls(http.conn);
  const conn = http.conn;
  const remoteAddr = formatAddr(conn.remoteAddr);
  let buffer = new Uint8Array(Math.min(4096, limits.maxHeadBytes));
  let end = 0;
  let handedOver = false;
  try {
    while (!ctx.stopping() || end > 0) {
      http.state = "head";
      http.since = performance.now();
      http.deadline = http.since + limits.headerTimeoutMs;
      let head: RequestHead | null;
      let failure: HttpError | undefined;
      try {
        while (
          (head = parseRequestHead(buffer, {
            end,
            maxBytes: limits.maxHeadBytes,
          })) === null
        ) {
          if (end === buffer.length) {
            buffer = grow(buffer, limits.maxHeadBytes);
          }
          const read = await conn.read(buffer.subarray(end));
          if (read === null) return false;
          end += read;
        }
      } catch (error) {
        if (!(error instanceof HttpError)) return false;
        failure = error;
        head = null;
      }
      http.state = "busy";
      http.deadline = performance.now() + BUSY_LIMIT_MS;
      const outcome = failure
        ? {
          response: textResponse(failure.status, failure.message),
          keepAlive: false,
        }
        : await respond(http, head as RequestHead, {
          ctx,
          peer: { remoteAddr, tls },
        });
      const upgrade = http.upgrade;
      if (upgrade && outcome.response === upgrade.response) {
        const used = (head as RequestHead).bytes;
        await switchToWebSocket(http, {
          ctx,
          leftover: buffer.slice(used, end),
        });
        handedOver = true;
        return true;
      }
      // A handler that accepted the upgrade but answered otherwise.
      http.upgrade?.socket.abort();
      http.upgrade = undefined;
      const keepAlive = outcome.keepAlive && !ctx.stopping();
      // A HEAD answer carries the headers GET would, its length included
      // (RFC 9110 9.3.2), and no body.
      const body = await outcome.response.bytes();
      http.state = "writing";
      http.deadline = performance.now() + limits.writeTimeoutMs;
      await writeAll(
        conn,
        serializeResponse(outcome.response, {
          body,
          keepAlive,
          head: head?.method === "HEAD",
        }),
      );
      if (!keepAlive) return false;
      const used = (head as RequestHead).bytes;
      buffer.copyWithin(0, used, end);
      end -= used;
    }
  } catch {
    // The peer went away or was cut off by a timeout.
  } finally {
    // An upgrade whose response could not be written still tells its
    // owner that it ended.
    if (!handedOver) http.upgrade?.socket.abort();
  }
  return false;
}

async function respond(
  http: HttpConnection,
  head: RequestHead,
  options: {
    ctx: ExchangeContext;
    peer: { remoteAddr: string; tls: boolean };
  },
): Promise<{ response: Response; keepAlive: boolean }> {
  const { ctx, peer } = options;
  try {
    const { keepAlive } = checkFraming(head);
    const request = new Request(new URL(head.target, "http://localhost"), {
      method: head.method,
      headers: head.headers,
    });
    const info: RequestInfo = {
      ...peer,
      upgrade: (upgrade) => ctx.accept(http, request, upgrade),
    };
    return {
      response: await ctx.handler(request, info),
      keepAlive,
    };
  } catch (error) {
    if (error instanceof HttpError) {
      return {
        response: textResponse(error.status, error.message),
        keepAlive: false,
      };
    }
    if (error instanceof TypeError) {
      return {
        response: textResponse(400, "Malformed request."),
        keepAlive: false,
      };
    }
    ctx.log.error("Serving a request failed", { error });
    return {
      response: textResponse(500, "Internal error; it was logged."),
      keepAlive: false,
    };
  }
}

// Writes the 101 response and hands the connection to its WebSocket.
async function switchToWebSocket(
  http: HttpConnection,
  options: { ctx: ExchangeContext; leftover: Uint8Array },
): Promise<void> {
  const ctx = options.ctx;
  const upgrade = http.upgrade as NonNullable<HttpConnection["upgrade"]>;
  const headers = new Headers({
    upgrade: "websocket",
    connection: "Upgrade",
    "sec-websocket-accept": upgrade.accept,
  });
  if (upgrade.socket.protocol) {
    headers.set("sec-websocket-protocol", upgrade.socket.protocol);
  }
  http.state = "writing";
  http.deadline = performance.now() + ctx.limits.writeTimeoutMs;
  await writeAll(
    http.conn,
    serializeResponse({ status: 101, headers }, {
      body: new Uint8Array(0),
      keepAlive: true,
    }),
  );
  ctx.adopt(http, options.leftover);
}

function grow(
  buffer: Uint8Array<ArrayBuffer>,
  max: number,
): Uint8Array<ArrayBuffer> {
  if (buffer.length >= max) return buffer;
  const grown = new Uint8Array(Math.min(max, buffer.length * 2));
  grown.set(buffer);
  return grown;
}

async function writeAll(conn: Deno.Conn, bytes: Uint8Array): Promise<void> {
  let written = 0;
  while (written < bytes.length) {
    written += await conn.write(bytes.subarray(written));
  }
}

function isTls(conn: Deno.Conn): boolean {
  return "handshake" in conn;
}

/** A peer's address as `host:port`, IPv6 hosts in brackets. */
export function formatAddr(addr: Deno.Addr): string {
  if (addr.transport !== "tcp" && addr.transport !== "udp") return "unix";
  return addr.hostname.includes(":")
    ? `[${addr.hostname}]:${addr.port}`
    : `${addr.hostname}:${addr.port}`;
}
