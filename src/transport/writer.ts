/**
 * A connection's writer: owns its bounded send queue and the one write
 * under way. Frames queued while a write is out are joined into the next
 * write, so a client that lags costs one write per batch, not per frame.
 * Control frames (pongs, keepalive and progress pings) go ahead of the
 * queue, right after the write under way.
 *
 * Writes start through the shared {@link WritePacer} (the runtime's budget
 * of writes per turn is the whole process's), and joined batches come from
 * the shared {@link BatchPool}, to which they go back once written.
 *
 * How much may be in flight to a client, and how far it has read, is
 * {@link ProgressMarks}' business: past its window, data waits here (where
 * events can be dropped and counted) instead of in the kernel.
 *
 * @module
 */
import { type BatchPool, MAX_BATCH, sharedBatches } from "./batch_pool.ts";
import { joinFrames } from "./frames.ts";
import { ProgressMarks } from "./progress.ts";
import { type Offer, type Priority, SendQueue } from "./send_queue.ts";
import {
  type PacedWriter,
  sharedPacer,
  type WritePacer,
} from "./write_pacer.ts";

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
  /** Paces the start of writes; the one every connection shares by default. */
  pacer?: WritePacer;
  /** Where joined batches come from; the shared pool by default. */
  batches?: BatchPool;
}

/**
 * Where a writer is: taking frames; holding its last frame (a close),
 * after which it takes nothing; done once that frame is written; stopped
 * once the connection is closed.
 */
export type WriterPhase = "open" | "last" | "done" | "stopped";

// Pongs waiting for the write under way, at most this many: past it the
// oldest is dropped (RFC 6455 5.5.3 lets a pong answer only the latest
// ping), so a ping flood costs a few pongs per write, not one per ping.
const MAX_PONGS = 16;
const NO_FRAMES: Uint8Array[] = [];

/** Writes queued frames to a connection, one write at a time. */
export class Writer implements PacedWriter {
  #conn: Deno.Conn;
  #options: WriterOptions;
  #pacer: WritePacer;
  #batches: BatchPool;
  #queue: SendQueue;
  #marks = new ProgressMarks();
  #phase: WriterPhase = "open";
  #inFlight: Uint8Array | undefined;
  #done = 0;
  #progressAt = 0;
  #last: Uint8Array | undefined;
  // Control frames to write before the next batch: the pongs and a
  // keepalive ping.
  #pongs: Uint8Array[] = NO_FRAMES;
  #pongBytes = 0;
  #ping: Uint8Array | undefined;

  /** Creates an idle writer for `conn`. */
  constructor(conn: Deno.Conn, options: WriterOptions) {
    this.#conn = conn;
    this.#options = options;
    this.#pacer = options.pacer ?? sharedPacer;
    this.#batches = options.batches ?? sharedBatches;
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

  /**
   * Since when the writer has been waiting on the peer to take bytes: a
   * write under way, or data held back until the peer proves it read what
   * is in flight. 0 when it is not waiting.
   */
  get waitingSince(): number {
    if (this.#inFlight) return this.#progressAt;
    return this.#holding() && this.#queue.messages > 0 ? this.#progressAt : 0;
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
    const queue = this.#queue;
    if (!this.#inFlight && queue.messages === 0) {
      if (!this.#marks.paused) {
        // Nothing waits: the common case of an idle client takes the frame
        // straight to the socket, without touching the queue.
        this.#progressAt = at;
        this.#write(frame);
        return "queued";
      }
      // The wait for the peer starts now.
      this.#progressAt = at;
    }
    return queue.offer(frame, priority, at);
  }

  /**
   * Writes a control frame ahead of everything queued: now if nothing is
   * being written, else right after the write under way. A keepalive ping
   * replaces one still waiting.
   */
  control(frame: Uint8Array, kind: "ping" | "pong"): void {
    if (this.#phase !== "open") return;
    if (!this.#inFlight) {
      this.#progressAt = this.#options.clock();
      this.#write(frame);
    } else if (kind === "ping") {
      this.#ping = frame;
    } else {
      if (this.#pongs === NO_FRAMES) this.#pongs = [];
      this.#pongs.push(frame);
      this.#pongBytes += frame.length;
      if (this.#pongs.length > MAX_PONGS) {
        this.#pongBytes -= this.#pongs.shift()?.length ?? 0;
      }
    }
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
   * client has read that far, the write counts as progressing, and data
   * held back for it may go on.
   */
  answered(payload: Uint8Array): void {
    if (!this.#marks.answered(payload)) return;
    this.#progressAt = this.#options.clock();
    if (!this.#inFlight && this.#phase === "open") this.#next();
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
    this.#pongs = NO_FRAMES;
    this.#ping = undefined;
  }

  // Data waits for a pong: the window is full, and the connection is not
  // closing (then what is queued goes out regardless).
  #holding(): boolean {
    return this.#phase === "open" && this.#marks.paused;
  }

  #next(): void {
    switch (this.#phase) {
      case "stopped":
        return;
      case "done":
        this.#inFlight = undefined;
        this.#options.onLastSent();
        return;
    }
    const control = this.#takeControl();
    if (control !== undefined) return this.#write(control);
    if (this.#holding()) {
      this.#inFlight = undefined;
      return;
    }
    const chunk = this.#queue.take(MAX_BATCH, this.#batches);
    if (chunk !== undefined) {
      if (!this.#inFlight) this.#progressAt = this.#options.clock();
      return this.#write(chunk);
    }
    const last = this.#last;
    if (last !== undefined) {
      this.#phase = "done";
      this.#last = undefined;
      return this.#write(last);
    }
    this.#inFlight = undefined;
    this.#options.onIdle();
  }

  // The control frames due, joined into one write: the pongs, the
  // keepalive ping, and a progress ping when one is due.
  #takeControl(): Uint8Array | undefined {
    const frames = this.#pongs;
    const ping = this.#ping;
    const mark = this.#phase === "open" &&
        this.#marks.due(this.#queue.messages > 0)
      ? this.#marks.next(this.#pongBytes + (ping?.length ?? 0))
      : undefined;
    if (frames.length === 0 && ping === undefined && mark === undefined) {
      return undefined;
    }
    this.#pongs = NO_FRAMES;
    this.#pongBytes = 0;
    this.#ping = undefined;
    const all = [...frames];
    if (ping) all.push(ping);
    if (mark) all.push(mark);
    return all.length === 1 ? all[0] : joinFrames(all);
  }

  #write(chunk: Uint8Array): void {
    this.#inFlight = chunk;
    this.#done = 0;
    this.#marks.wrote(chunk.length);
    if (this.#pacer.admit(this)) this.resumeWrite();
  }

  /**
   * Writes what is left of the chunk in flight; the pacer calls it when a
   * write it deferred may start.
   */
  resumeWrite(): void {
    const chunk = this.#inFlight;
    if (this.#phase === "stopped" || chunk === undefined) return;
    this.#conn.write(this.#done ? chunk.subarray(this.#done) : chunk).then(
      this.#onWritten,
      this.#onFailed,
    );
  }

  #onWritten = (bytes: number): void => {
    const chunk = this.#inFlight;
    if (this.#phase === "stopped" || chunk === undefined) return;
    this.#progressAt = this.#options.clock();
    this.#done += bytes;
    if (this.#done < chunk.length) {
      if (this.#pacer.admit(this)) this.resumeWrite();
      return;
    }
    // Written whole: a joined batch may serve another write now.
    this.#batches.give(chunk);
    this.#options.onProgress();
    this.#next();
  };

  #onFailed = (): void => {
    if (this.#phase !== "stopped") this.#options.onFailed();
  };
}
