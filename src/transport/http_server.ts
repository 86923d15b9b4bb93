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
import {
  createLogger,
  type Logger,
  type ThrottledLogger,
  throttleLog,
} from "../log.ts";
import { FileLimit, outOfFiles } from "./file_limit.ts";
import { CLOSE_CODE } from "./frames.ts";
import { acceptUpgrade } from "./handshake.ts";
import {
  type ExchangeContext,
  formatAddr,
  type HttpConnection,
  type RequestHandler,
  serveHttp,
} from "./http_exchange.ts";
import { HttpError } from "./http1.ts";
import { SHED_LOG, type ShedReason } from "./shedding.ts";
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

/** Options for {@link HttpServer}. */
export interface HttpServerOptions {
  /** Serves every request. */
  handler: RequestHandler;
  /** Connection limits. */
  limits: ConnectionLimits;
  /** Limits of each upgraded connection. */
  websocket: WebSocketLimits;
  /** Whether binary messages are handed over whole (else only their size). */
  keepBinary?: boolean;
  /** Where refusals and failures are logged. */
  log?: Logger;
}

/** Connection counters, for `/metrics`. */
export interface ConnectionCounters {
  /** Connections accepted. */
  accepted: number;
  /** Connections closed by the manager as they arrived or while idle, by reason. */
  shed: Map<ShedReason, number>;
}

// Timers are checked this often, or four times per the shortest timeout.
const SWEEP_MS = 1000;
// A connection that has awaited its request head this long (or a quarter
// of the header timeout) may be evicted. Real clients send theirs within a
// few round trips, so a burst of them does not evict itself; slow-loris
// sockets are evicted. Newcomers wait at most this long in the backlog.
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
  // Every line a peer can make repeat goes through this.
  #limited: ThrottledLogger;
  #exchange: ExchangeContext;
  #files: FileLimit;
  #evictableAfterMs: number;

  /** Starts serving on `listener`. */
  constructor(listener: Deno.Listener, options: HttpServerOptions) {
    this.#options = options;
    this.#log = options.log ?? createLogger();
    this.#limited = throttleLog(this.#log);
    this.#files = new FileLimit(options.limits.maxFiles);
    this.#evictableAfterMs = Math.min(
      EVICTABLE_AFTER_MS,
      options.limits.headerTimeoutMs / 4,
    );
    this.#exchange = {
      handler: options.handler,
      limits: options.limits,
      log: this.#log,
      stopping: () => this.#stopping,
      accept: (http, request, upgrade) => this.#accept(http, request, upgrade),
      adopt: (http, leftover) => this.#adopt(http, leftover),
    };
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

  #accept(
    http: HttpConnection,
    request: Request,
    options: { protocol?: string } = {},
  ): { socket: WebSocketConnection; response: Response } {
    const accept = acceptUpgrade(request);
    if (
      this.#sockets.size >=
        this.#files.webSockets(this.#options.limits.maxWebSockets)
    ) {
      throw new HttpError(503, "Too many connections: try again later.");
    }
    const socket = new WebSocketConnection(http.conn, {
      limits: this.#options.websocket,
      keepBinary: this.#options.keepBinary,
      protocol: options.protocol ?? "",
      release: (closed) => this.#sockets.delete(closed),
    });
    const response = new Response(null, { status: 200 });
    http.upgrade = { socket, response, accept };
    return { socket, response };
  }

  // Takes over a connection whose 101 response is out.
  #adopt(http: HttpConnection, leftover: Uint8Array): void {
    this.#http.delete(http.conn);
    const socket = (http.upgrade as NonNullable<HttpConnection["upgrade"]>)
      .socket;
    this.#sockets.add(socket);
    socket.start(leftover);
    if (this.#stopping) {
      socket.close("shutdown", {
        code: 1001,
        reason: "The server is shutting down.",
      });
    }
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
    this.#limited.close();
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
          setTimeout(resolve, this.#evictableAfterMs / 10)
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
        this.#limited.warn(
          "Accepting a connection failed; retrying. If this says too many open files, raise the open-file limit or lower --max-connections",
          { error },
        );
        await new Promise((resolve) => setTimeout(resolve, 100));
        continue;
      }
      this.counters.accepted++;
      // Small frames (a reply right behind an event) must not wait for
      // Nagle's algorithm to see the previous one acknowledged.
      if ("setNoDelay" in conn) (conn as Deno.TcpConn).setNoDelay(true);
      const now = performance.now();
      if (!this.#admit(conn, now)) continue;
      const http: HttpConnection = {
        conn,
        state: "head",
        since: now,
        deadline: now + this.#options.limits.headerTimeoutMs,
      };
      this.#http.set(conn, http);
      serveHttp(http, this.#exchange).then((handedOver) => {
        if (handedOver) return;
        this.#http.delete(conn);
        close(conn);
      });
    }
  }

  // Makes room for `conn` or closes it. Returns whether it may be served.
  #admit(conn: Deno.Conn, now: number): boolean {
    if (this.#stopping) return this.#shed(conn, "draining");
    const noFiles = this.#files.full(this.#http.size + this.#sockets.size);
    if (!noFiles && this.#http.size < this.#options.limits.maxHttp) {
      return true;
    }
    const idle = this.#evictable(now);
    if (idle === undefined) {
      return this.#shed(conn, noFiles ? "file_limit" : "http_limit");
    }
    this.#http.delete(idle);
    this.#shed(idle, "evicted");
    return true;
  }

  // The longest-open connection that has been waiting for its request
  // head long enough to be evicted, if any.
  #evictable(now: number): Deno.Conn | undefined {
    for (const [conn, http] of this.#http) {
      if (
        http.state === "head" && now - http.since >= this.#evictableAfterMs
      ) {
        return conn;
      }
    }
    return undefined;
  }

  // Out of descriptors: the limit is learned (see FileLimit), and the
  // reserve freed at once by closing pending connections, oldest first,
  // then the newest WebSockets past their room (in a flood, the flood's).
  #learnFileLimit(): void {
    const ceiling = this.#files.learn(this.#http.size + this.#sockets.size);
    if (ceiling === undefined) return;
    this.#log.warn(
      "Out of file descriptors: connections past this many are closed as they arrive. Raise the open-file limit (ulimit -n) or lower --max-connections",
      { connections: ceiling },
    );
    for (const [conn, http] of this.#http) {
      if (this.#http.size + this.#sockets.size <= ceiling) break;
      if (http.state !== "head") continue;
      this.#http.delete(conn);
      this.#shed(conn, "file_limit");
    }
    let excess = this.#sockets.size -
      this.#files.webSockets(this.#options.limits.maxWebSockets);
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

  // Closes a connection that has not upgraded; counts and logs why.
  #shed(conn: Deno.Conn, reason: ShedReason): false {
    this.counters.shed.set(reason, (this.counters.shed.get(reason) ?? 0) + 1);
    const { level, why } = SHED_LOG[reason];
    if (level) {
      this.#limited[level]("Closed a connection before it upgraded", {
        remote: formatAddr(conn.remoteAddr),
        reason,
        why,
      }, { key: reason });
    }
    close(conn);
    return false;
  }

  #sweep(): void {
    const now = performance.now();
    for (const [conn, http] of this.#http) {
      if (now >= http.deadline) {
        this.#http.delete(conn);
        this.#shed(
          conn,
          http.state === "head" ? "header_timeout" : "write_timeout",
        );
      }
    }
    for (const socket of this.#sockets) socket.tick(now);
  }
}

function close(conn: Deno.Conn): void {
  try {
    conn.close();
  } catch {
    // Already closed.
  }
}

function isClosed(error: unknown): boolean {
  return error instanceof Deno.errors.BadResource ||
    error instanceof Deno.errors.Interrupted;
}
