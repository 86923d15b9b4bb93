/**
 * A server-side WebSocket connection on a raw TCP or TLS connection, with
 * every limit enforced where the bytes are: inbound messages are bounded
 * while they arrive and must complete in time, the outbound queue is
 * bounded in messages and bytes, a peer that stops reading is cut off
 * after the write timeout and its queue released at once, and a client
 * that pipelines requests faster than it reads the replies is slowed down
 * (its next frame is not read until its queue drains) instead of reset.
 *
 * Timers are not per connection: the server calls {@link
 * WebSocketConnection.tick} for every connection about once a second.
 *
 * @module
 */
import { FrameReader, type Inbound } from "./frame_reader.ts";
import {
  CLOSE_CODE,
  encodeClose,
  encodeFrame,
  MAX_CONTROL_PAYLOAD,
  OPCODE,
} from "./frames.ts";
import { type Offer, type Priority, SendQueue } from "./send_queue.ts";

/** Limits of one WebSocket connection. */
export interface WebSocketLimits {
  /** Largest inbound message, payload bytes. Larger: close 1009. */
  maxMessageBytes: number;
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

/** Why a connection ended. */
export type CloseCause =
  | "client"
  | "client_gone"
  | "read_timeout"
  | "write_timeout"
  | "message_timeout"
  | "send_buffer_full"
  | "message_too_big"
  | "protocol_error"
  | "invalid_data"
  | "file_limit"
  | "shutdown";

/** How a connection ended, as its `closed` handler hears it. */
export interface CloseInfo {
  /** Why. */
  cause: CloseCause;
  /** The close code sent or received; 1006 when there was none. */
  code: number;
  /** The close reason sent or received. */
  reason: string;
}

/** What the owner of a connection is told. */
export interface WebSocketHandlers {
  /** A complete text message. */
  text(socket: WebSocketConnection, text: string): void;
  /** A complete binary message (its bytes are not kept). */
  binary(socket: WebSocketConnection, bytes: number): void;
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
  /** Called once when the connection is gone (its socket closed). */
  release?: (socket: WebSocketConnection) => void;
  /** Milliseconds on a monotonic clock; `performance.now` by default. */
  clock?: () => number;
}

// The most one write carries: joining more frames than this into one
// buffer would copy more than it saves.
const MAX_BATCH = 64 * 1024;
// A client's next message waits while this much is queued for it (or half
// its byte budget, if less): a client pipelining requests it does not read
// holds at most this, plus one reply.
const BACKLOG_BYTES = 1024 * 1024;
// How long a closing handshake may take before the connection is cut.
const CLOSE_GRACE_MS = 2000;
const PING = encodeFrame(OPCODE.ping, new Uint8Array(0));
// While a client is behind, a ping goes out once at least this many bytes
// have been written since the last one (so after every full batch); its
// pong proves the client has read that far. Write completions alone
// cannot show it: the kernel wakes a writer only once half its send
// buffer (megabytes, on loopback) has drained, which takes longer than the
// write timeout for a client that reads steadily, only slower than its
// stream. Such a client must lose events, not its connection.
const MARK_EVERY_BYTES = 32 * 1024;
const MARK_BYTES = 8;
// Shared by every connection that is dropping what it reads.
const DISCARD = new Uint8Array(4096);

const CAUSE_OF_VIOLATION: Record<number, CloseCause> = {
  [CLOSE_CODE.tooBig]: "message_too_big",
  [CLOSE_CODE.invalidData]: "invalid_data",
};

function monotonicNow(): number {
  return performance.now();
}

function noHandlers(): WebSocketHandlers {
  return { text() {}, binary() {}, closed() {} };
}

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
  #reader: FrameReader;
  #queue: SendQueue;
  #leftover: Uint8Array | undefined;
  #release: ((socket: WebSocketConnection) => void) | undefined;
  #state: "open" | "closing" | "closed" = "open";
  #closing: CloseInfo | undefined;
  // After our close frame goes out: wait for the peer's close frame (or
  // its end of the stream), or end at once when the peer closed first.
  #awaitEcho = true;
  #closeBy = 0;
  #heardAt: number;
  #pingAt = 0;
  // A read is waiting on the network with part of a message held: since
  // when, and how many messages had completed then.
  #reading = false;
  #partialSince = 0;
  #partialSerial = -1;
  #completed = 0;
  #writing = false;
  #inFlight: Uint8Array | undefined;
  #written = 0;
  #progressAt = 0;
  #drained: (() => void) | undefined;
  #backlogBytes: number;
  #notified = false;
  // Progress marks: a ping payload of a per-connection random prefix and a
  // counter, so that a client that does not read cannot forge the pong.
  #sinceMark = 0;
  #markPrefix: Uint8Array | undefined;
  #marksSent = 0;
  #marksAnswered = 0;

  /** Wraps `conn`, whose upgrade response has been written. */
  constructor(conn: Deno.Conn, options: WebSocketOptions) {
    this.#conn = conn;
    this.#limits = options.limits;
    this.#clock = options.clock ?? monotonicNow;
    this.protocol = options.protocol;
    this.#release = options.release;
    this.#reader = new FrameReader({
      maxMessageBytes: options.limits.maxMessageBytes,
    });
    this.#queue = new SendQueue({
      maxMessages: options.limits.sendBufferMessages,
      maxBytes: options.limits.sendBufferBytes,
    });
    this.#heardAt = this.#clock();
    this.#backlogBytes = Math.min(
      BACKLOG_BYTES,
      options.limits.sendBufferBytes / 2,
    );
  }

  /** Whether the connection has started closing or has closed. */
  get closed(): boolean {
    return this.#state !== "open";
  }

  /**
   * Bytes queued and not yet handed to the socket. At most one more write,
   * of up to 64 KiB, may be under way besides.
   */
  get queuedBytes(): number {
    return this.#queue.bytes;
  }

  /**
   * Starts reading, first from `leftover` (bytes that came with the upgrade
   * request). Call once, after setting the handlers.
   */
  start(leftover?: Uint8Array): void {
    if (leftover?.length) this.#leftover = leftover;
    this.#readLoop();
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
  ): Offer | "closed" {
    if (this.#state !== "open") return "closed";
    const offer = this.#queue.offer(frame, priority, at);
    if (offer === "queued") {
      if (!this.#writing) this.#flush();
    } else if (offer === "refused") {
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
    if (this.#state !== "open") return;
    this.#state = "closing";
    this.#closing = { cause, code: options.code, reason: options.reason };
    if (!options.flush) this.#queue.clear();
    // Out of descriptors, the server needs this one back now, not after
    // the peer's echo (or the grace): it ends once its close frame is out.
    this.#awaitEcho = cause !== "client" && cause !== "file_limit";
    this.#closeBy = this.#clock() + CLOSE_GRACE_MS;
    this.#queue.offer(
      encodeClose(options.code, options.reason),
      "replay",
      this.#clock(),
    );
    if (!this.#writing) this.#flush();
    this.#drained?.();
    this.#notify(this.#closing);
  }

  /** Ends the connection at once, without a closing handshake. */
  abort(cause: CloseCause = "client_gone"): void {
    this.#finish(this.#closing ?? { cause, code: 1006, reason: "" });
  }

  /** Checks the timers; the server calls this about once a second. */
  tick(now: number): void {
    if (this.#state === "closed") return;
    const limits = this.#limits;
    if (this.#state === "closing") {
      if (now >= this.#closeBy) this.#finish(this.#closing as CloseInfo);
      return;
    }
    if (this.#writing && now - this.#progressAt >= limits.writeTimeoutMs) {
      // Its queue is freed now; the close frame goes out after the write
      // under way, should the peer ever read again before the grace ends.
      this.close("write_timeout", {
        code: CLOSE_CODE.policy,
        reason: "Write timeout: the client stopped reading.",
      });
      return;
    }
    if (
      this.#reading && this.#partialSince > 0 &&
      now - this.#partialSince >= limits.messageTimeoutMs
    ) {
      this.close("message_timeout", {
        code: CLOSE_CODE.policy,
        reason: `Message not completed within ${
          Math.round(limits.messageTimeoutMs / 1000)
        } s.`,
      });
      return;
    }
    const silent = now - this.#heardAt;
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
      this.#queue.offer(PING, "replay", now);
      if (!this.#writing) this.#flush();
    }
  }

  async #readLoop(): Promise<void> {
    const reader = this.#reader;
    try {
      while (this.#state !== "closed") {
        const item = reader.next();
        if (item !== null) {
          this.#handle(item);
          // Pongs add nothing to the queue, and carry the progress marks
          // a backlogged client is judged by: they never wait.
          if (
            item.kind !== "pong" && this.#state === "open" && this.#backlogged()
          ) {
            await new Promise<void>((resolve) => this.#drained = resolve);
            this.#drained = undefined;
          }
          continue;
        }
        if (reader.partial) {
          if (this.#partialSerial !== this.#completed) {
            this.#partialSince = this.#clock();
            this.#partialSerial = this.#completed;
          }
        } else {
          this.#partialSince = 0;
          this.#partialSerial = -1;
        }
        // After a violation nothing more is parsed; what still arrives is
        // read and dropped so that closing does not reset the connection
        // (a reset can destroy the close frame before the peer reads it).
        const space = reader.failed ? DISCARD : reader.space();
        let read: number | null;
        if (this.#leftover) {
          read = Math.min(space.length, this.#leftover.length);
          space.set(this.#leftover.subarray(0, read));
          this.#leftover = read < this.#leftover.length
            ? this.#leftover.subarray(read)
            : undefined;
        } else {
          this.#reading = true;
          read = await this.#conn.read(space);
          this.#reading = false;
        }
        if (read === null) {
          this.#gone();
          return;
        }
        this.#heardAt = this.#clock();
        if (!reader.failed) reader.commit(read);
      }
    } catch {
      this.#gone();
    }
  }

  #handle(item: Inbound): void {
    switch (item.kind) {
      case "text":
        this.#completed++;
        if (this.#state === "open") this.handlers.text(this, item.text);
        return;
      case "binary":
        this.#completed++;
        if (this.#state === "open") this.handlers.binary(this, item.bytes);
        return;
      case "ping":
        // Dropped rather than queued when the client is not reading: a
        // ping flood must not grow the queue.
        if (
          this.#state === "open" && item.payload.length <= MAX_CONTROL_PAYLOAD
        ) {
          this.send(encodeFrame(OPCODE.pong, item.payload), "event");
        }
        return;
      case "pong":
        this.#markAnswered(item.payload);
        return;
      case "close":
        if (this.#state === "open") {
          // Echo the code, as the handshake asks, then end once it is out.
          // The owner hears the code and reason the client sent.
          this.#notify({
            cause: "client",
            code: item.code ?? 1005,
            reason: item.reason,
          });
          this.close("client", {
            code: item.code ?? CLOSE_CODE.normal,
            reason: "",
          });
        } else {
          this.#finish(this.#closing as CloseInfo);
        }
        return;
      case "violation":
        this.close(CAUSE_OF_VIOLATION[item.code] ?? "protocol_error", {
          code: item.code,
          reason: item.reason,
        });
        return;
    }
  }

  // Whether replies and events waiting for this client are enough that
  // its next message should wait until they drain.
  #backlogged(): boolean {
    return this.#queue.bytes > this.#backlogBytes ||
      this.#queue.messages > this.#limits.sendBufferMessages / 2;
  }

  #flush(): void {
    if (this.#sinceMark >= MARK_EVERY_BYTES && this.#state === "open") {
      this.#sinceMark = 0;
      this.#write(this.#nextMark());
      return;
    }
    const chunk = this.#queue.take(MAX_BATCH);
    if (chunk === undefined) {
      this.#writing = false;
      this.#inFlight = undefined;
      if (this.#state === "closing") {
        this.#closeSent();
      } else if (this.#drained && !this.#backloggedLow()) {
        this.#drained();
      }
      return;
    }
    this.#sinceMark += chunk.length;
    this.#write(chunk);
  }

  #write(chunk: Uint8Array): void {
    if (!this.#writing) this.#progressAt = this.#clock();
    this.#writing = true;
    this.#inFlight = chunk;
    this.#written = 0;
    this.#conn.write(chunk).then(this.#onWritten, this.#onWriteFailed);
  }

  #nextMark(): Uint8Array {
    this.#markPrefix ??= crypto.getRandomValues(new Uint8Array(4));
    const payload = new Uint8Array(MARK_BYTES);
    payload.set(this.#markPrefix);
    new DataView(payload.buffer).setUint32(4, ++this.#marksSent);
    return encodeFrame(OPCODE.ping, payload);
  }

  // A pong to one of our marks: the client has read at least that far.
  #markAnswered(payload: Uint8Array): void {
    const prefix = this.#markPrefix;
    if (prefix === undefined || payload.length !== MARK_BYTES) return;
    for (let i = 0; i < prefix.length; i++) {
      if (payload[i] !== prefix[i]) return;
    }
    const mark = new DataView(payload.buffer, payload.byteOffset, MARK_BYTES)
      .getUint32(4);
    if (mark <= this.#marksAnswered || mark > this.#marksSent) return;
    this.#marksAnswered = mark;
    this.#progressAt = this.#clock();
  }

  #backloggedLow(): boolean {
    return this.#queue.bytes > this.#backlogBytes / 2 ||
      this.#queue.messages > this.#limits.sendBufferMessages / 4;
  }

  #onWritten = (bytes: number): void => {
    if (this.#state === "closed") return;
    this.#progressAt = this.#clock();
    const chunk = this.#inFlight as Uint8Array;
    this.#written += bytes;
    if (this.#written < chunk.length) {
      this.#conn.write(chunk.subarray(this.#written)).then(
        this.#onWritten,
        this.#onWriteFailed,
      );
      return;
    }
    if (this.#drained && !this.#backloggedLow()) this.#drained();
    this.#flush();
  };

  // Our close frame is out: end now if the peer closed first; otherwise
  // end our side of the stream and wait for the peer's close.
  #closeSent(): void {
    if (!this.#awaitEcho) {
      this.#finish(this.#closing as CloseInfo);
      return;
    }
    try {
      this.#conn.closeWrite();
    } catch {
      this.#gone();
    }
  }

  #onWriteFailed = (): void => {
    this.#gone();
  };

  #gone(): void {
    if (this.#state === "closed") return;
    this.#finish(
      this.#closing ?? { cause: "client_gone", code: 1006, reason: "" },
    );
  }

  #finish(info: CloseInfo): void {
    if (this.#state === "closed") return;
    this.#state = "closed";
    this.#queue.clear();
    this.#inFlight = undefined;
    this.#leftover = undefined;
    try {
      this.#conn.close();
    } catch {
      // Already closed by the peer's reset.
    }
    this.#drained?.();
    this.#notify(info);
    this.#release?.(this);
  }

  #notify(info: CloseInfo): void {
    if (this.#notified) return;
    this.#notified = true;
    this.handlers.closed(this, info);
  }
}
