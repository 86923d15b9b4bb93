/**
 * A server-side WebSocket connection on a raw TCP or TLS connection, with
 * every limit enforced where the bytes are: inbound messages are bounded
 * while they arrive and must complete in time, the outbound queue is
 * bounded in messages and bytes, a peer that stops reading is cut off
 * after the write timeout and its queue released at once, and a client
 * that pipelines requests faster than it reads the replies is slowed down
 * (its next message is not read until its queue drains; its pings, pongs
 * and close still are) instead of reset. Its life is a {@link Lifecycle}.
 *
 * Timers are not per connection: the server calls {@link
 * WebSocketConnection.tick} for every connection about once a second.
 *
 * @module
 */
import type { Inbound } from "./frame_reader.ts";
import { CLOSE_CODE, encodeClose, encodeFrame, OPCODE } from "./frames.ts";
import type { Offer, Priority } from "./send_queue.ts";
import {
  CAUSE_OF_VIOLATION,
  type CloseCause,
  type CloseInfo,
} from "./close.ts";
import { Lifecycle, type Phase } from "./lifecycle.ts";
import { ReadLoop } from "./read_loop.ts";
import type { WritePacer } from "./write_pacer.ts";
import { Writer } from "./writer.ts";

/** Limits of one WebSocket connection. */
export interface WebSocketLimits {
  /** Largest inbound message, payload bytes. Larger: close 1009. */
  maxMessageBytes: number;
  /** Most frames one inbound message may take. More: close 1009. */
  maxMessageFrames: number;
  /** A started inbound message must complete within this, ms. */
  messageTimeoutMs: number;
  /** Frames the outbound queue may hold. */
  sendBufferMessages: number;
  /** Bytes the outbound queue may hold. */
  sendBufferBytes: number;
  /** Ping after this much silence from the peer, ms. */
  pingIntervalMs: number;
  /** Close after this much silence from the peer, ms. */
  readTimeoutMs: number;
  /** Cut off a peer that takes no bytes for this long, ms. */
  writeTimeoutMs: number;
}

/** What the owner of a connection is told. */
export interface WebSocketHandlers {
  /** A complete text message. */
  text(socket: WebSocketConnection, text: string): void;
  /**
   * A complete binary message: its size, and its bytes when the connection
   * keeps them ({@link WebSocketOptions.keepBinary}).
   */
  binary(socket: WebSocketConnection, bytes: number, data?: Uint8Array): void;
  /**
   * The connection has stopped being open: called once, as soon as the
   * closing handshake starts or the connection is lost. Nothing sent after
   * this is delivered.
   */
  closed(socket: WebSocketConnection, info: CloseInfo): void;
}

/** Options for {@link WebSocketConnection}. */
export interface WebSocketOptions {
  /** The limits. */
  limits: WebSocketLimits;
  /** The subprotocol agreed in the handshake, or "". */
  protocol: string;
  /**
   * Whether binary messages are assembled and handed over; by default only
   * their size is (their payload is never held).
   */
  keepBinary?: boolean;
  /** Called once when the connection is gone (its socket closed). */
  release?: (socket: WebSocketConnection) => void;
  /** Milliseconds on a monotonic clock; `performance.now` by default. */
  clock?: () => number;
  /** Paces the start of writes (see write_pacer.ts); shared by default. */
  pacer?: WritePacer;
}

// A client's next message waits while this much is queued for it (or half
// its byte budget, if less): a client pipelining requests it does not read
// holds at most this, plus one reply.
const BACKLOG_BYTES = 1024 * 1024;
// How long a closing handshake may take before the connection is cut.
const CLOSE_GRACE_MS = 2000;
const PING = encodeFrame(OPCODE.ping, new Uint8Array(0));

function monotonicNow(): number {
  return performance.now();
}

function noHandlers(): WebSocketHandlers {
  return { text() {}, binary() {}, closed() {} };
}

/** What {@link WebSocketConnection.send} did with a frame. */
export type SendResult = Offer | "closed";

/** One WebSocket client. */
export class WebSocketConnection {
  /** The subprotocol agreed in the handshake, or "". */
  readonly protocol: string;
  /** Whatever the owner attaches (its session). */
  data: unknown;
  /** Set by the owner before the connection starts. */
  handlers: WebSocketHandlers = noHandlers();

  #conn: Deno.Conn;
  #limits: WebSocketLimits;
  #clock: () => number;
  #reader: ReadLoop;
  #writer: Writer;
  #life: Lifecycle;
  #pingAt = 0;
  #backlogBytes: number;

  /** Wraps `conn`, whose upgrade response has been written. */
  constructor(conn: Deno.Conn, options: WebSocketOptions) {
    this.#conn = conn;
    this.#limits = options.limits;
    this.#clock = options.clock ?? monotonicNow;
    this.protocol = options.protocol;
    const release = options.release;
    this.#life = new Lifecycle({
      told: (info) => this.handlers.closed(this, info),
      shutWrite: () => this.#shutWrite(),
      ended: () => {
        this.#writer.stop();
        this.#reader.stop();
        try {
          this.#conn.close();
        } catch {
          // Already closed by the peer's reset.
        }
        release?.(this);
      },
    });
    this.#reader = new ReadLoop(conn, {
      maxMessageBytes: options.limits.maxMessageBytes,
      maxMessageFrames: options.limits.maxMessageFrames,
      keepBinary: options.keepBinary ?? false,
      clock: this.#clock,
      onItem: (item) => this.#handle(item),
      dataHeld: () => this.#dataHeld(),
      onEnd: () => this.#life.lose(),
    });
    this.#writer = new Writer(conn, {
      maxMessages: options.limits.sendBufferMessages,
      maxBytes: options.limits.sendBufferBytes,
      clock: this.#clock,
      onProgress: () => this.#maybeDrained(),
      onIdle: () => this.#maybeDrained(),
      onLastSent: () => this.#life.closeSent(),
      onFailed: () => this.#life.lose(),
      pacer: options.pacer,
    });
    this.#backlogBytes = Math.min(
      BACKLOG_BYTES,
      options.limits.sendBufferBytes / 2,
    );
  }

  /** Where the connection is in its life (see {@link Lifecycle}). */
  get phase(): Phase {
    return this.#life.phase;
  }

  /** Whether the connection has started closing or has closed. */
  get closed(): boolean {
    return this.#life.phase.name !== "open";
  }

  /**
   * Bytes queued and not yet handed to the socket. At most one more write,
   * of up to 64 KiB, may be under way besides.
   */
  get queuedBytes(): number {
    return this.#writer.bytes;
  }

  /**
   * Starts reading, first from `leftover` (bytes that came with the upgrade
   * request). Call once, after setting the handlers.
   */
  start(leftover?: Uint8Array): void {
    this.#reader.start(leftover);
  }

  /**
   * Queues one encoded frame, sent at `at` (the sender's reading of the
   * monotonic clock, shared by a whole fan-out). Returns what happened to
   * it; a reply that does not fit closes the connection with 1008, since
   * replies must never be lost silently.
   */
  send(
    frame: Uint8Array,
    priority: Priority,
    at: number = this.#clock(),
  ): SendResult {
    if (this.#life.phase.name !== "open") return "closed";
    const offer = this.#writer.offer(frame, priority, at);
    if (offer === "refused") {
      this.close("send_buffer_full", {
        code: CLOSE_CODE.policy,
        reason: "Send buffer full: read your messages.",
      });
    }
    return offer;
  }

  /**
   * Starts the closing handshake. With `flush`, what is queued goes out
   * first (a shutdown); otherwise it is dropped at once (a client that
   * broke a rule or stopped reading gets no more of it).
   */
  close(
    cause: CloseCause,
    options: { code: number; reason: string; flush?: boolean },
  ): void {
    this.#closeWith({ cause, code: options.code, reason: options.reason }, {
      frame: encodeClose(options.code, options.reason),
      flush: options.flush ?? false,
    });
  }

  /** Ends the connection at once, without a closing handshake. */
  abort(cause: CloseCause = "client_gone"): void {
    this.#life.lose(cause);
  }

  /** Checks the timers; the server calls this about once a second. */
  tick(now: number): void {
    const phase = this.#life.phase;
    if (phase.name === "closing") this.#life.expire(now);
    if (phase.name !== "open") return;
    const limits = this.#limits;
    const writer = this.#writer;
    const stalled = writer.waitingSince;
    if (stalled > 0 && now - stalled >= limits.writeTimeoutMs) {
      // Its queue is freed now; the close frame goes out after the write
      // under way, should the peer ever read again before the grace ends.
      this.close("write_timeout", {
        code: CLOSE_CODE.policy,
        reason: "Write timeout: the client stopped reading.",
      });
      return;
    }
    const waiting = this.#reader.waitingSince;
    if (waiting > 0 && now - waiting >= limits.messageTimeoutMs) {
      this.close("message_timeout", {
        code: CLOSE_CODE.policy,
        reason: `Message not completed within ${
          Math.round(limits.messageTimeoutMs / 1000)
        } s.`,
      });
      return;
    }
    const silent = now - this.#reader.heardAt;
    if (silent >= limits.readTimeoutMs) {
      this.close("read_timeout", {
        code: CLOSE_CODE.goingAway,
        reason: "Read timeout: nothing heard from the client.",
      });
    } else if (
      silent >= limits.pingIntervalMs &&
      now - this.#pingAt >= limits.pingIntervalMs
    ) {
      this.#pingAt = now;
      writer.control(PING, "ping");
    }
  }

  // Open to closing: the owner hears `info`, `frame` is the last one sent.
  #closeWith(info: CloseInfo, options: { frame: Uint8Array; flush: boolean }) {
    if (this.#life.phase.name !== "open") return;
    if (!options.flush) this.#writer.clear();
    // The peer closed first: end once our echo is out. Out of descriptors,
    // the server needs this one back now, not after the peer's echo.
    const awaitEcho = info.cause !== "client" && info.cause !== "file_limit";
    this.#life.close(info, {
      awaitEcho,
      deadline: this.#clock() + CLOSE_GRACE_MS,
    });
    this.#writer.last(options.frame, this.#clock());
  }

  #handle(item: Inbound): void {
    const open = this.#life.phase.name === "open";
    switch (item.kind) {
      case "text":
        if (!open) return;
        this.handlers.text(this, item.text);
        return;
      case "binary":
        if (!open) return;
        this.handlers.binary(this, item.bytes, item.data);
        return;
      case "ping":
        // Answered ahead of whatever is queued, so a client far behind on
        // its stream still hears back; while a write is out, only the
        // latest ping is answered (RFC 6455 5.5.3).
        if (open) {
          this.#writer.control(encodeFrame(OPCODE.pong, item.payload), "pong");
        }
        return;
      case "pong":
        this.#writer.answered(item.payload);
        return;
      case "close":
        if (!open) {
          this.#life.echo();
          return;
        }
        // Echo the code, as the handshake asks, then end once it is out.
        // The owner hears the code and reason the client sent.
        this.#closeWith(
          { cause: "client", code: item.code ?? 1005, reason: item.reason },
          {
            frame: encodeClose(item.code ?? CLOSE_CODE.normal, ""),
            flush: false,
          },
        );
        return;
      case "violation":
        this.close(CAUSE_OF_VIOLATION[item.code] ?? "protocol_error", {
          code: item.code,
          reason: item.reason,
        });
        return;
    }
  }

  // While replies and events waiting for this client are enough, its next
  // message waits until half of them have drained: a reply to it could
  // only be refused, and a client that pipelines requests it does not
  // read must not make the server hold their replies.
  #dataHeld(): Promise<void> | undefined {
    if (
      this.#writer.bytes > this.#backlogBytes ||
      this.#writer.messages > this.#limits.sendBufferMessages / 2
    ) this.#life.hold();
    const phase = this.#life.phase;
    return phase.name === "open" ? phase.held : undefined;
  }

  // Lets a read held back by the backlog go on once half of it is gone.
  #maybeDrained(): void {
    if (
      this.#writer.bytes <= this.#backlogBytes / 2 &&
      this.#writer.messages <= this.#limits.sendBufferMessages / 4
    ) this.#life.release();
  }

  // Our close frame is out and the peer's is awaited: end our side of the
  // stream, so the peer reads our close before any reset.
  #shutWrite(): void {
    try {
      this.#conn.closeWrite();
    } catch {
      this.#life.lose();
    }
  }
}
