/**
 * A topic's history: its newest events with their offsets, for resuming
 * clients (`since`) and for `request events`. Bounded by a ring buffer, so
 * memory per topic stays fixed however busy the cluster is.
 *
 * @module
 */
import type { EventPayload } from "../protocol/mod.ts";
import { RingBuffer } from "./ring_buffer.ts";

/** Events a topic keeps unless told otherwise (`serve --history-size`). */
export const DEFAULT_HISTORY_SIZE = 1024;

/** One published event, as the history holds it. */
export interface StoredEvent {
  /** Position on its topic: one more than the event before it. */
  readonly offset: number;
  /** Namespace of the object it is about; "" when cluster-scoped. */
  readonly namespace: string;
  /** Name of the object it is about. */
  readonly name: string;
  /** A second name a name filter also matches (e.g. the involved object). */
  readonly alias: string;
  /** The payload, kept for `request events`. */
  readonly payload: EventPayload;
  /** The `event` message as a WebSocket frame, shared by every subscriber. */
  readonly wire: Uint8Array;
}

/** The newest events of one topic and the offset of the newest. */
export class TopicHistory {
  #ring: RingBuffer<StoredEvent>;
  #offset = 0;

  /** Creates an empty history keeping at most `capacity` events. */
  constructor(capacity: number) {
    this.#ring = new RingBuffer(capacity);
  }

  /** Offset of the newest event; 0 before the first. */
  get offset(): number {
    return this.#offset;
  }

  /** The offset the next event will get. */
  get nextOffset(): number {
    return this.#offset + 1;
  }

  /** Events held. */
  get size(): number {
    return this.#ring.size;
  }

  /** Events it can hold. */
  get capacity(): number {
    return this.#ring.capacity;
  }

  /** Keeps `event`, whose offset must be {@link TopicHistory.nextOffset}. */
  append(event: StoredEvent): void {
    this.#offset = event.offset;
    this.#ring.push(event);
  }

  /**
   * The events after `offset`, oldest first, when every one of them is
   * still held; undefined when some have left the history or `offset` is
   * ahead of the stream.
   */
  since(offset: number): StoredEvent[] | undefined {
    if (offset > this.#offset) return undefined;
    const oldest = this.#ring.at(0);
    const firstHeld = oldest ? oldest.offset : this.#offset + 1;
    if (offset < firstHeld - 1) return undefined;
    const missed: StoredEvent[] = [];
    // Offsets are consecutive, so the first missed event's index is known.
    for (let i = offset + 1 - firstHeld; i < this.#ring.size; i++) {
      missed.push(this.#ring.at(i) as StoredEvent);
    }
    return missed;
  }

  /**
   * Up to `limit` of the newest events that `keep` accepts, oldest first.
   */
  newest(
    limit: number,
    keep: (event: StoredEvent) => boolean,
  ): StoredEvent[] {
    const picked: StoredEvent[] = [];
    for (let i = this.#ring.size - 1; i >= 0 && picked.length < limit; i--) {
      const event = this.#ring.at(i) as StoredEvent;
      if (keep(event)) picked.push(event);
    }
    return picked.reverse();
  }
}
