/**
 * The bounded store under each topic's recent history.
 *
 * @module
 */
/**
 * A fixed-capacity FIFO that overwrites its oldest item when full. Topics
 * keep their recent history in one, so memory per topic is bounded no
 * matter how busy the cluster is.
 */
export class RingBuffer<T> {
  #items: (T | undefined)[];
  #start = 0;
  #size = 0;

  /** Creates an empty buffer holding at most `capacity` items. */
  constructor(capacity: number) {
    if (!Number.isSafeInteger(capacity) || capacity < 1) {
      throw new RangeError(
        `Ring buffer capacity must be a positive integer, got ${capacity}.`,
      );
    }
    this.#items = new Array(capacity);
  }

  /** How many items the buffer can hold. */
  get capacity(): number {
    return this.#items.length;
  }

  /** How many items the buffer holds now. */
  get size(): number {
    return this.#size;
  }

  /** Appends `item`, evicting and returning the oldest one when full. */
  push(item: T): T | undefined {
    const capacity = this.#items.length;
    if (this.#size < capacity) {
      this.#items[(this.#start + this.#size) % capacity] = item;
      this.#size++;
      return undefined;
    }
    const evicted = this.#items[this.#start];
    this.#items[this.#start] = item;
    this.#start = (this.#start + 1) % capacity;
    return evicted;
  }

  /** The item `index` places after the oldest (0 is the oldest). */
  at(index: number): T | undefined {
    if (index < 0 || index >= this.#size) return undefined;
    return this.#items[(this.#start + index) % this.#items.length];
  }
}
