/**
 * A connection's outbound queue, bounded in messages and in bytes. Pure
 * bookkeeping: the connection decides what a refusal means (an event is
 * dropped for that client; a reply that does not fit closes it).
 *
 * The budgets are held against what a client has had time to take. A
 * burst queued in one turn (a relist publishing a thousand events, replies
 * to pipelined requests) cannot have been written yet, however promptly
 * the client reads, so frames count only once they have waited {@link
 * GRACE_MS}; a hard cap of {@link HARD_FACTOR} times the budgets bounds
 * the burst itself.
 *
 * @module
 */
import { type BatchPool, sharedBatches } from "./batch_pool.ts";

/**
 * How a frame is queued:
 * - `event`: dropped when the queue is full;
 * - `reply`: refused when the queue is full (the caller closes the client,
 *   since a reply must never be lost silently);
 * - `replay`: always queued. Replays are bounded by the topic history and
 *   share its frames, so they cost the client no memory of its own.
 */
export type Priority = "event" | "reply" | "replay";

/** What {@link SendQueue.offer} did with a frame. */
export type Offer = "queued" | "dropped" | "refused";

/** Limits of a {@link SendQueue}. */
export interface SendQueueLimits {
  /** Frames a client may leave untaken. */
  maxMessages: number;
  /** Bytes a client may leave untaken. */
  maxBytes: number;
}

/** How long a frame waits before it counts against the budgets, ms. */
export const GRACE_MS = 100;

/** However fresh, a queue never holds more than this many budgets' worth. */
export const HARD_FACTOR = 8;

const EMPTY: Uint8Array[] = [];
const NO_TIMES: number[] = [];

/** A FIFO of frames with message and byte budgets. */
export class SendQueue {
  #limits: SendQueueLimits;
  #frames: Uint8Array[] = EMPTY;
  // When each frame was queued, and the bytes queued before it since the
  // queue was last empty, so stale counts need no sums.
  #times: number[] = NO_TIMES;
  #before: number[] = NO_TIMES;
  #head = 0;
  #bytes = 0;
  #total = 0;

  /** Creates an empty queue. */
  constructor(limits: SendQueueLimits) {
    this.#limits = limits;
  }

  /** Frames waiting. */
  get messages(): number {
    return this.#frames.length - this.#head;
  }

  /** Bytes waiting. */
  get bytes(): number {
    return this.#bytes;
  }

  /**
   * Queues `frame`, sent at `now` (ms, monotonic), unless the budgets say
   * otherwise. A frame always fits an empty queue, so one message larger
   * than the byte budget still goes out.
   */
  offer(frame: Uint8Array, priority: Priority, now: number): Offer {
    if (priority !== "replay" && this.messages > 0 && this.#full(frame, now)) {
      return priority === "event" ? "dropped" : "refused";
    }
    if (this.#frames === EMPTY) {
      this.#frames = [];
      this.#times = [];
      this.#before = [];
    }
    this.#frames.push(frame);
    this.#times.push(now);
    this.#before.push(this.#total);
    this.#bytes += frame.length;
    this.#total += frame.length;
    return "queued";
  }

  /**
   * Takes the oldest frames for one write: a single frame as it is, or
   * several joined into one buffer of at most `maxBytes` from `batches`
   * (to be given back once written), so that a burst costs one write
   * instead of one per frame.
   */
  take(
    maxBytes: number,
    batches: BatchPool = sharedBatches,
  ): Uint8Array | undefined {
    const frames = this.#frames;
    if (this.#head === frames.length) return undefined;
    const first = frames[this.#head];
    let end = this.#head + 1;
    let total = first.length;
    while (end < frames.length && total + frames[end].length <= maxBytes) {
      total += frames[end].length;
      end++;
    }
    let out = first;
    if (end > this.#head + 1) {
      out = batches.take(total);
      let at = 0;
      for (let i = this.#head; i < end; i++) {
        out.set(frames[i], at);
        at += frames[i].length;
      }
    }
    // Let go of the frames at once: they may be large replies.
    for (let i = this.#head; i < end; i++) frames[i] = EMPTY_FRAME;
    this.#head = end;
    this.#bytes -= total;
    if (this.#head === frames.length) {
      this.clear();
    } else if (this.#head > 1024 && this.#head * 2 > frames.length) {
      this.#frames = frames.slice(this.#head);
      this.#times = this.#times.slice(this.#head);
      this.#before = this.#before.slice(this.#head);
      this.#head = 0;
    }
    return out;
  }

  /** Drops everything waiting, releasing its memory. */
  clear(): void {
    this.#frames = EMPTY;
    this.#times = NO_TIMES;
    this.#before = NO_TIMES;
    this.#head = 0;
    this.#bytes = 0;
    this.#total = 0;
  }

  // Whether `frame` would break a budget: the hard cap on everything
  // queued, or the budgets on what has waited past the grace.
  #full(frame: Uint8Array, now: number): boolean {
    const { maxMessages, maxBytes } = this.#limits;
    const messages = this.messages;
    const bytes = this.#bytes + frame.length;
    if (messages < maxMessages && bytes <= maxBytes) return false;
    if (
      messages >= maxMessages * HARD_FACTOR || bytes > maxBytes * HARD_FACTOR
    ) return true;
    // Frames are in time order: find the first one still within the grace.
    const cutoff = now - GRACE_MS;
    let low = this.#head;
    let high = this.#frames.length;
    while (low < high) {
      const mid = (low + high) >>> 1;
      if (this.#times[mid] <= cutoff) low = mid + 1;
      else high = mid;
    }
    const staleMessages = low - this.#head;
    const staleBytes =
      (low < this.#frames.length ? this.#before[low] : this.#total) -
      this.#before[this.#head];
    return staleMessages >= maxMessages || staleBytes >= maxBytes;
  }
}

const EMPTY_FRAME = new Uint8Array(0);
