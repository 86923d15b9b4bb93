/**
 * A connection's outbound queue, bounded in messages and in bytes. Pure
 * bookkeeping: the connection decides what a refusal means (an event is
 * dropped for that client; a reply that does not fit closes it).
 *
 * @module
 */

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
  /** Frames the queue may hold. */
  maxMessages: number;
  /** Bytes the queue may hold. */
  maxBytes: number;
}

const EMPTY: Uint8Array[] = [];

/** A FIFO of frames with message and byte budgets. */
export class SendQueue {
  #limits: SendQueueLimits;
  #frames: Uint8Array[] = EMPTY;
  #head = 0;
  #bytes = 0;

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
   * Queues `frame` unless its priority says otherwise. An event fits while
   * both budgets have room for it, and always into an empty queue (so one
   * message larger than the byte budget still goes out); a reply fits while
   * the queue is under both budgets.
   */
  offer(frame: Uint8Array, priority: Priority): Offer {
    if (priority !== "replay") {
      const messages = this.messages;
      const full = messages >= this.#limits.maxMessages ||
        (priority === "event"
          ? messages > 0 && this.#bytes + frame.length > this.#limits.maxBytes
          : this.#bytes >= this.#limits.maxBytes);
      if (full) return priority === "event" ? "dropped" : "refused";
    }
    if (this.#frames === EMPTY) this.#frames = [];
    this.#frames.push(frame);
    this.#bytes += frame.length;
    return "queued";
  }

  /**
   * Takes the oldest frames for one write: a single frame as it is, or
   * several joined into one buffer of at most `maxBytes`, so that a burst
   * costs one write instead of one per frame.
   */
  take(maxBytes: number): Uint8Array | undefined {
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
      out = new Uint8Array(total);
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
      this.#frames = EMPTY;
      this.#head = 0;
    } else if (this.#head > 1024 && this.#head * 2 > frames.length) {
      this.#frames = frames.slice(this.#head);
      this.#head = 0;
    }
    return out;
  }

  /** Drops everything waiting, releasing its memory. */
  clear(): void {
    this.#frames = EMPTY;
    this.#head = 0;
    this.#bytes = 0;
  }
}

const EMPTY_FRAME = new Uint8Array(0);
