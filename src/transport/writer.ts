/**
 * A connection's writer: owns its bounded send queue and the one write
 * under way. Frames queued while a write is out are joined into the next
 * write, so a client that lags costs one write per batch, not per frame.
 *
 * It also knows how far the client has read. Write completions alone
 * cannot tell: the kernel wakes a writer only once half its send buffer
 * (megabytes, on loopback) has drained, which takes longer than the write
 * timeout for a client that reads steadily, only slower than its stream;
 * such a client must lose events, not its connection. So while a client
 * is behind, a ping goes out after every batch, with a payload it cannot
 * guess without reading it, and its pong counts as progress.
 *
 * @module
 */
import { encodeFrame, OPCODE } from "./frames.ts";
import { type Offer, type Priority, SendQueue } from "./send_queue.ts";

/** Options for {@link Writer}. */
export interface WriterOptions {
  /** Frames the queue may hold. */
  maxMessages: number;
  /** Bytes the queue may hold. */
  maxBytes: number;
  /** Milliseconds on a monotonic clock. */
  clock: () => number;
  /** A write has completed (the queue may have drained some). */
  onProgress: () => void;
  /** Everything queued has been written. */
  onIdle: () => void;
  /** The last frame (see {@link Writer.last}) has been written. */
  onLastSent: () => void;
  /** A write failed: the peer is gone. */
  onFailed: () => void;
}

// The most one write carries: joining more frames than this into one
// buffer would copy more than it saves.
const MAX_BATCH = 64 * 1024;
// A progress ping goes out once this many bytes have been written since
// the last one: after every full batch.
const MARK_EVERY_BYTES = MAX_BATCH / 2;
// A progress ping's payload: a random prefix per connection and a counter.
const MARK_BYTES = 8;

/**
 * Where a writer is: taking frames; holding its last frame (a close),
 * after which it takes nothing; done once that frame is written; stopped
 * once the connection is closed.
 */
export type WriterPhase = "open" | "last" | "done" | "stopped";

/** Writes queued frames to a connection, one write at a time. */
export class Writer {
  #conn: Deno.Conn;
  #options: WriterOptions;
  #queue: SendQueue;
  #phase: WriterPhase = "open";
  #inFlight: Uint8Array | undefined;
  #written = 0;
  #progressAt = 0;
  #last: Uint8Array | undefined;
  #sinceMark = 0;
  #markPrefix: Uint8Array | undefined;
  #marksSent = 0;
  #marksAnswered = 0;
  // Control frames to write before the next batch: a pong (the latest
  // ping's) and a keepalive ping; one slot each, so a ping flood costs a
  // pong per write, not per ping.
  #pong: Uint8Array | undefined;
  #ping: Uint8Array | undefined;

  /** Creates an idle writer for `conn`. */
  constructor(conn: Deno.Conn, options: WriterOptions) {
    this.#conn = conn;
    this.#options = options;
    this.#queue = new SendQueue({
      maxMessages: options.maxMessages,
      maxBytes: options.maxBytes,
    });
  }

  /** Where the writer is. */
  get phase(): WriterPhase {
    return this.#phase;
  }

  /** Whether a write is under way. */
  get writing(): boolean {
    return this.#inFlight !== undefined;
  }

  /** When the write under way last made progress (or started). */
  get progressAt(): number {
    return this.#progressAt;
  }

  /** Frames queued, not counting the write under way. */
  get messages(): number {
    return this.#queue.messages;
  }

  /** Bytes queued, not counting the write under way (at most 64 KiB). */
  get bytes(): number {
    return this.#queue.bytes;
  }

  /** Queues `frame` (see {@link SendQueue.offer}) and starts writing. */
  offer(frame: Uint8Array, priority: Priority, at: number): Offer {
    if (this.#phase !== "open") return "queued";
    if (!this.#inFlight && this.#queue.messages === 0) {
      // Nothing waits: the common case of an idle client takes the frame
      // straight to the socket, without touching the queue.
      this.#progressAt = at;
      this.#sinceMark += frame.length;
      this.#write(frame);
      return "queued";
    }
    const offer = this.#queue.offer(frame, priority, at);
    if (offer === "queued" && !this.#inFlight) this.#next();
    return offer;
  }

  /**
   * Writes a control frame ahead of everything queued: now if nothing is
   * being written, else right after the write under way. A newer frame of
   * the same kind replaces one still waiting (RFC 6455 5.5.3 lets a pong
   * answer only the latest ping).
   */
  control(frame: Uint8Array, kind: "ping" | "pong"): void {
    if (this.#phase !== "open") return;
    if (!this.#inFlight) {
      this.#write(frame);
      return;
    }
    if (kind === "pong") this.#pong = frame;
    else this.#ping = frame;
  }

  /**
   * Queues the last frame (a close), to go out after what is queued:
   * nothing, not even a progress ping, is written after it.
   */
  last(frame: Uint8Array, at: number): void {
    if (this.#phase !== "open") return;
    this.#phase = "last";
    this.#last = frame;
    if (!this.#inFlight) {
      this.#progressAt = at;
      this.#next();
    }
  }

  /**
   * Takes a pong's payload: when it answers one of our progress pings, the
   * client has read that far, and the write counts as progressing.
   */
  answered(payload: Uint8Array): void {
    const prefix = this.#markPrefix;
    if (prefix === undefined || payload.length !== MARK_BYTES) return;
    for (let i = 0; i < prefix.length; i++) {
      if (payload[i] !== prefix[i]) return;
    }
    const mark = new DataView(payload.buffer, payload.byteOffset, MARK_BYTES)
      .getUint32(prefix.length);
    if (mark <= this.#marksAnswered || mark > this.#marksSent) return;
    this.#marksAnswered = mark;
    this.#progressAt = this.#options.clock();
  }

  /** Drops what is queued; the write under way, if any, goes on. */
  clear(): void {
    this.#queue.clear();
  }

  /** Drops everything and writes no more. */
  stop(): void {
    this.#phase = "stopped";
    this.#queue.clear();
    this.#inFlight = undefined;
    this.#last = undefined;
  }

  #next(): void {
    if (this.#phase === "stopped") return;
    if (this.#phase === "done") {
      this.#inFlight = undefined;
      this.#options.onLastSent();
      return;
    }
    const control = this.#pong ?? this.#ping;
    if (control !== undefined) {
      if (control === this.#pong) this.#pong = undefined;
      else this.#ping = undefined;
      this.#write(control);
      return;
    }
    if (this.#sinceMark >= MARK_EVERY_BYTES && this.#phase === "open") {
      this.#sinceMark = 0;
      this.#write(this.#mark());
      return;
    }
    const chunk = this.#queue.take(MAX_BATCH);
    const last = this.#last;
    if (chunk === undefined && last !== undefined) {
      this.#phase = "done";
      this.#last = undefined;
      this.#write(last);
      return;
    }
    if (chunk === undefined) {
      // Caught up: progress pings are for clients that are behind.
      this.#inFlight = undefined;
      this.#sinceMark = 0;
      this.#options.onIdle();
      return;
    }
    if (!this.#inFlight) this.#progressAt = this.#options.clock();
    this.#sinceMark += chunk.length;
    this.#write(chunk);
  }

  #mark(): Uint8Array {
    this.#markPrefix ??= crypto.getRandomValues(new Uint8Array(4));
    const payload = new Uint8Array(MARK_BYTES);
    payload.set(this.#markPrefix);
    new DataView(payload.buffer).setUint32(4, ++this.#marksSent);
    return encodeFrame(OPCODE.ping, payload);
  }

  #write(chunk: Uint8Array): void {
    this.#inFlight = chunk;
    this.#written = 0;
    this.#conn.write(chunk).then(this.#onWritten, this.#onFailed);
  }

  #onWritten = (bytes: number): void => {
    if (this.#phase === "stopped") return;
    this.#progressAt = this.#options.clock();
    const chunk = this.#inFlight as Uint8Array;
    this.#written += bytes;
    if (this.#written < chunk.length) {
      this.#conn.write(chunk.subarray(this.#written)).then(
        this.#onWritten,
        this.#onFailed,
      );
      return;
    }
    this.#options.onProgress();
    this.#next();
  };

  #onFailed = (): void => {
    if (this.#phase !== "stopped") this.#options.onFailed();
  };
}
