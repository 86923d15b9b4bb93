/**
 * The connection manager: accepts TCP (or TLS) connections, serves HTTP/1.1
 * requests on them through a web-standard handler, and turns upgrades into
 * {@link WebSocketConnection}s. It owns every limit a peer could otherwise
 * exhaust before any route runs:
 *
 * - the process's file descriptors: connections beyond the open-file limit
 *   (less a reserve for files and API watches) are closed as they arrive,
 *   and an accept that fails for lack of descriptors is retried, never
 *   fatal; where the limit cannot be read, the first such failure tells
 *   it;
 * - connections that have not upgraded: bounded; when full, the oldest one
 *   that has been waiting a second for its request is closed to make
 *   room, so slow-loris sockets are churned out instead of locking out
 *   real clients, and a burst of real clients (a reconnect storm) waits in
 *   the kernel's backlog instead of evicting itself;
 * - time: a request head must arrive within the header timeout, a response
 *   must be taken within the write timeout;
 * - bytes: heads are bounded, bodies are never read.
 *
 * @module
 */
import { createLogger, type Logger } from "../log.ts";
import { CLOSE_CODE } from "./frames.ts";
import { acceptUpgrade } from "./handshake.ts";
import {
  checkFraming,
  HttpError,
  parseRequestHead,
  type RequestHead,
  serializeResponse,
  textResponse,
} from "./http1.ts";
import { WebSocketConnection, type WebSocketLimits } from "./websocket.ts";

/** Limits of the connection manager. */
export interface ConnectionLimits {
  /** Upgraded WebSocket connections allowed at once. */
  maxWebSockets: number;
  /** Connections not (yet) upgraded allowed at once. */
  maxHttp: number;
  /** Time for a request head to arrive, ms. */
  headerTimeoutMs: number;
  /** Time for a peer to take a response, ms. */
  writeTimeoutMs: number;
  /** Largest request head, bytes. */
  maxHeadBytes: number;
  /** Connections the open-file limit leaves room for; unlimited if absent. */
  maxFiles?: number;
}

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

/** Options for {@link HttpServer}. */
export interface HttpServerOptions {
  /** Serves every request. */
  handler: RequestHandler;
  /** Connection limits. */
  limits: ConnectionLimits;
  /** Limits of each upgraded connection. */
  websocket: WebSocketLimits;
  /** Where refusals and failures are logged. */
  log?: Logger;
}

/** Connection counters, for `/metrics`. */
export interface ConnectionCounters {
  /** Connections accepted. */
  accepted: number;
  /** Connections closed by the manager as they arrived or while idle, by reason. */
  shed: Map<string, number>;
}

interface HttpConnection {
  conn: Deno.Conn;
  // What the connection is waiting for: its request head, the handler,
  // or the peer to take the response.
  state: "head" | "busy" | "writing";
  // When the current request head began to be awaited.
  since: number;
  // When the current state must end.
  deadline: number;
  upgrade?: { socket: WebSocketConnection; response: Response; accept: string };
}

// Descriptors kept free for everything that is not a client connection.
const FILE_RESERVE = 64;
// Timers are checked this often, or four times per the shortest timeout.
const SWEEP_MS = 1000;
const BUSY_LIMIT_MS = 60_000;
// Of the connections the open-file limit leaves room for, this many are
// kept for requests that have not upgraded, so /health still answers when
// WebSockets fill the rest.
const HTTP_SHARE = 32;
// A connection whose request head has been awaited this long may be
// evicted to make room. A real client sends its head at once (a round
// trip after connecting, two more with TLS; more when it or this server
// is starved of CPU), so a burst of real clients is not evicted by its
// own newest members; slow-loris sockets are. Meanwhile newcomers wait
// at most this long in the backlog (the chart's probes allow 2 s).
const EVICTABLE_AFTER_MS = 1000;

/** An HTTP/1.1 and WebSocket server on one or more listeners. */
export class HttpServer {
  /** Connection counters. */
  readonly counters: ConnectionCounters = { accepted: 0, shed: new Map() };
  #options: HttpServerOptions;
  #log: Logger;
  #listeners = new Set<Deno.Listener>();
  #http = new Map<Deno.Conn, HttpConnection>();
  #sockets = new Set<WebSocketConnection>();
  #sweeper: ReturnType<typeof setInterval>;
  #stopping = false;
  #fileWarnedAt = -Infinity;
  // Client connections the open-file limit leaves room for, once known.
  #maxFiles: number | undefined;

  /** Starts serving on `listener`. */
  constructor(listener: Deno.Listener, options: HttpServerOptions) {
    this.#options = options;
    this.#log = options.log ?? createLogger();
    this.#maxFiles = options.limits.maxFiles;
    const shortest = Math.min(
      options.limits.headerTimeoutMs,
      options.limits.writeTimeoutMs,
      options.websocket.pingIntervalMs,
      options.websocket.messageTimeoutMs,
      options.websocket.writeTimeoutMs,
    );
    this.#sweeper = setInterval(
      () => this.#sweep(),
      Math.max(25, Math.min(SWEEP_MS, shortest / 4)),
    );
    this.listen(listener);
  }

  /** Also accepts on `listener` (a renewed TLS listener, say). */
  listen(listener: Deno.Listener): void {
    this.#listeners.add(listener);
    this.#acceptLoop(listener);
  }

  /** Stops accepting on `listener`; its open connections stay. */
  unlisten(listener: Deno.Listener): void {
    if (!this.#listeners.delete(listener)) return;
    try {
      listener.close();
    } catch {
      // Already closed.
    }
  }

  /** Open upgraded connections. */
  get webSockets(): ReadonlySet<WebSocketConnection> {
    return this.#sockets;
  }

  /** Open connections that have not upgraded. */
  get httpConnections(): number {
    return this.#http.size;
  }

  #upgrade(
    http: HttpConnection,
    request: Request,
    options: { protocol?: string } = {},
  ): { socket: WebSocketConnection; response: Response } {
    const accept = acceptUpgrade(request);
    if (this.#sockets.size >= this.#webSocketRoom()) {
      throw new HttpError(503, "Too many connections: try again later.");
    }
    const socket = new WebSocketConnection(http.conn, {
      limits: this.#options.websocket,
      protocol: options.protocol ?? "",
      release: (closed) => this.#sockets.delete(closed),
    });
    const response = new Response(null, { status: 200 });
    http.upgrade = { socket, response, accept };
    return { socket, response };
  }

  /**
   * Stops accepting, lets requests under way finish, closes every
   * WebSocket with 1001 after what is queued for it, and resolves when all
   * connections are gone or `graceMs` has passed (the rest are cut).
   */
  async shutdown(graceMs: number, reason: string): Promise<void> {
    this.#stopping = true;
    for (const listener of [...this.#listeners]) this.unlisten(listener);
    for (const [conn, http] of this.#http) {
      if (http.state === "head") close(conn);
    }
    for (const socket of this.#sockets) {
      socket.close("shutdown", { code: 1001, reason, flush: true });
    }
    const deadline = performance.now() + graceMs;
    while (
      (this.#sockets.size > 0 || this.#http.size > 0) &&
      performance.now() < deadline
    ) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    for (const conn of this.#http.keys()) close(conn);
    for (const socket of this.#sockets) socket.tick(Infinity);
    clearInterval(this.#sweeper);
  }

  async #acceptLoop(listener: Deno.Listener): Promise<void> {
    while (this.#listeners.has(listener)) {
      // While every pending connection is a young one still sending its
      // request, newcomers wait in the kernel's backlog.
      while (
        this.#http.size >= this.#options.limits.maxHttp && !this.#stopping &&
        this.#evictable(performance.now()) === undefined
      ) {
        await new Promise((resolve) =>
          setTimeout(resolve, EVICTABLE_AFTER_MS / 10)
        );
      }
      let conn: Deno.Conn;
      try {
        conn = await listener.accept();
      } catch (error) {
        if (!this.#listeners.has(listener) || isClosed(error)) return;
        // Out of descriptors (EMFILE) or a transient failure: wait a moment
        // and go on accepting; the process must never die of it.
        if (outOfFiles(error)) this.#learnFileLimit();
        this.#warnFiles(error as Error);
        await new Promise((resolve) => setTimeout(resolve, 100));
        continue;
      }
      this.counters.accepted++;
      const now = performance.now();
      if (!this.#admit(conn, now)) continue;
      const http: HttpConnection = {
        conn,
        state: "head",
        since: now,
        deadline: now + this.#options.limits.headerTimeoutMs,
      };
      this.#http.set(conn, http);
      this.#serve(http, listener.addr.transport === "tcp" && isTls(conn));
    }
  }

  // WebSockets allowed now: the configured limit, or what the open-file
  // limit leaves beside the share kept for plain requests.
  #webSocketRoom(): number {
    const configured = this.#options.limits.maxWebSockets;
    if (this.#maxFiles === undefined) return configured;
    return Math.min(configured, Math.max(1, this.#maxFiles - HTTP_SHARE));
  }

  // Makes room for `conn` or closes it. Returns whether it may be served.
  #admit(conn: Deno.Conn, now: number): boolean {
    if (this.#stopping) return this.#shed(conn, "draining");
    const outOfFiles = this.#maxFiles !== undefined &&
      this.#http.size + this.#sockets.size >= this.#maxFiles;
    if (!outOfFiles && this.#http.size < this.#options.limits.maxHttp) {
      return true;
    }
    const idle = this.#evictable(now);
    if (idle === undefined) {
      return this.#shed(conn, outOfFiles ? "file_limit" : "http_limit");
    }
    this.#http.delete(idle);
    close(idle);
    this.#count("evicted");
    return true;
  }

  // The longest-open connection that has been waiting for its request
  // head long enough to be evicted, if any.
  #evictable(now: number): Deno.Conn | undefined {
    for (const [conn, http] of this.#http) {
      if (http.state === "head" && now - http.since >= EVICTABLE_AFTER_MS) {
        return conn;
      }
    }
    return undefined;
  }

  // The process ran out of descriptors with the connections open now:
  // keep at most these, less the reserve, from now on, and free the
  // reserve at once by closing pending connections, oldest first. The
  // binary cannot read its own limit (Deno refuses /proc/self without
  // --allow-all), so this is where it learns it.
  #learnFileLimit(): void {
    const open = this.#http.size + this.#sockets.size;
    // Too few clients to be the cause: something else holds the files.
    if (open <= FILE_RESERVE) return;
    const ceiling = open - FILE_RESERVE;
    if (this.#maxFiles !== undefined && this.#maxFiles <= ceiling) return;
    this.#maxFiles = ceiling;
    this.#log.warn(
      "Out of file descriptors: connections past this many are closed as they arrive. Raise the open-file limit (ulimit -n) or lower --max-connections",
      { connections: ceiling },
    );
    for (const [conn, http] of this.#http) {
      if (this.#http.size + this.#sockets.size <= ceiling) break;
      if (http.state !== "head") continue;
      this.#http.delete(conn);
      close(conn);
      this.#count("file_limit");
    }
    // Then the newest WebSockets past their room: in a flood, the flood's.
    let excess = this.#sockets.size - this.#webSocketRoom();
    for (const socket of [...this.#sockets].reverse()) {
      if (excess <= 0) break;
      if (socket.closed) continue;
      socket.close("file_limit", {
        code: CLOSE_CODE.tryAgainLater,
        reason: "The server is out of file descriptors: try again later.",
      });
      excess--;
    }
  }

  #shed(conn: Deno.Conn, reason: string): false {
    this.#count(reason);
    close(conn);
    return false;
  }

  #count(reason: string): void {
    this.counters.shed.set(reason, (this.counters.shed.get(reason) ?? 0) + 1);
  }

  async #serve(http: HttpConnection, tls: boolean): Promise<void> {
    const limits = this.#options.limits;
    const conn = http.conn;
    const remoteAddr = formatAddr(conn.remoteAddr);
    let buffer = new Uint8Array(Math.min(4096, limits.maxHeadBytes));
    let end = 0;
    let handedOver = false;
    try {
      while (!this.#stopping || end > 0) {
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
            if (read === null) return;
            end += read;
          }
        } catch (error) {
          if (!(error instanceof HttpError)) return;
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
          : await this.#respond(http, head as RequestHead, { remoteAddr, tls });
        const upgrade = http.upgrade;
        if (upgrade && outcome.response === upgrade.response) {
          const used = (head as RequestHead).bytes;
          handedOver = await this.#switch(http, buffer.slice(used, end));
          return;
        }
        // A handler that accepted the upgrade but answered otherwise.
        http.upgrade?.socket.abort();
        http.upgrade = undefined;
        const keepAlive = outcome.keepAlive && !this.#stopping;
        const body = (head as RequestHead | null)?.method === "HEAD"
          ? new Uint8Array(0)
          : await outcome.response.bytes();
        http.state = "writing";
        http.deadline = performance.now() + limits.writeTimeoutMs;
        await writeAll(
          conn,
          serializeResponse(outcome.response, { body, keepAlive }),
        );
        if (!keepAlive) return;
        const used = (head as RequestHead).bytes;
        buffer.copyWithin(0, used, end);
        end -= used;
      }
    } catch {
      // The peer went away or was cut off by a timeout.
    } finally {
      if (!handedOver) {
        this.#http.delete(conn);
        close(conn);
        // An upgrade whose response could not be written still tells its
        // owner that it ended.
        http.upgrade?.socket.abort();
      }
    }
  }

  async #respond(
    http: HttpConnection,
    head: RequestHead,
    peer: { remoteAddr: string; tls: boolean },
  ): Promise<{ response: Response; keepAlive: boolean }> {
    try {
      const { keepAlive } = checkFraming(head);
      const request = new Request(new URL(head.target, "http://localhost"), {
        method: head.method,
        headers: head.headers,
      });
      const info: RequestInfo = {
        ...peer,
        upgrade: (options) => this.#upgrade(http, request, options),
      };
      return {
        response: await this.#options.handler(request, info),
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
      this.#log.error("Serving a request failed", { error });
      return {
        response: textResponse(500, "Internal error; it was logged."),
        keepAlive: false,
      };
    }
  }

  // Writes the 101 response and hands the connection to its WebSocket.
  async #switch(http: HttpConnection, leftover: Uint8Array): Promise<boolean> {
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
    http.deadline = performance.now() + this.#options.limits.writeTimeoutMs;
    await writeAll(
      http.conn,
      serializeResponse({ status: 101, headers }, {
        body: new Uint8Array(0),
        keepAlive: true,
      }),
    );
    this.#http.delete(http.conn);
    const socket = upgrade.socket;
    this.#sockets.add(socket);
    socket.start(leftover);
    if (this.#stopping) {
      socket.close("shutdown", {
        code: 1001,
        reason: "The server is shutting down.",
      });
    }
    return true;
  }

  #sweep(): void {
    const now = performance.now();
    for (const [conn, http] of this.#http) {
      if (now >= http.deadline) {
        this.#http.delete(conn);
        close(conn);
        this.#count(http.state === "head" ? "header_timeout" : "write_timeout");
      }
    }
    for (const socket of this.#sockets) socket.tick(now);
  }

  #warnFiles(error: Error): void {
    const now = performance.now();
    if (now - this.#fileWarnedAt < 10_000) return;
    this.#fileWarnedAt = now;
    this.#log.warn(
      "Accepting a connection failed; retrying. If this says too many open files, raise the open-file limit or lower --max-connections",
      { error },
    );
  }
}

/**
 * Connections the open-file limit leaves room for: the soft `RLIMIT_NOFILE`
 * (from /proc/self/limits, where there is one) less a reserve. Deno already
 * raises the soft limit to the hard one at start, as Go does. Undefined
 * where the limit cannot be read or is unlimited.
 */
export function connectionsAllowedByFileLimit(
  limits = readProcLimits(),
): number | undefined {
  const match = /^Max open files\s+(\d+|unlimited)/m.exec(limits ?? "");
  if (!match || match[1] === "unlimited") return undefined;
  return Math.max(1, Number(match[1]) - FILE_RESERVE);
}

function readProcLimits(): string | undefined {
  try {
    return Deno.readTextFileSync("/proc/self/limits");
  } catch {
    return undefined;
  }
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

function close(conn: Deno.Conn): void {
  try {
    conn.close();
  } catch {
    // Already closed.
  }
}

function outOfFiles(error: unknown): boolean {
  const code = (error as { code?: unknown }).code;
  return code === "EMFILE" || code === "ENFILE";
}

function isClosed(error: unknown): boolean {
  return error instanceof Deno.errors.BadResource ||
    error instanceof Deno.errors.Interrupted;
}

function isTls(conn: Deno.Conn): boolean {
  return "handshake" in conn;
}

function formatAddr(addr: Deno.Addr): string {
  if (addr.transport !== "tcp" && addr.transport !== "udp") return "unix";
  return addr.hostname.includes(":")
    ? `[${addr.hostname}]:${addr.port}`
    : `${addr.hostname}:${addr.port}`;
}
