/**
 * Paces the start of socket writes: at most {@link WRITES_PER_TURN} in one
 * turn of the event loop, the rest in the turns after, in order.
 *
 * Why: a write to a socket that can take it completes while `conn.write`
 * is called, but only within the runtime's cooperative budget (tokio's:
 * 128 completed I/O operations each time the event loop is polled). Past
 * it, every further write is parked, and each turn polls all the parked
 * ones again while completing only the next 128: a fan-out to 10,000 idle
 * clients started in one turn measured 158 ms of server CPU, 22% of it in
 * those futile polls, and its writes completed over 150 to 200 ms. Started
 * 96 a turn, the same fan-out measured 88 ms of CPU. The runtime's own
 * WebSocket does not meet the budget: each of its sends is a task of its
 * own, with its own budget.
 *
 * A turn is a message-port round trip: a macrotask without the 4 ms clamp
 * of chained timers. The port is open only while writes are waiting, so
 * it never keeps the process alive.
 *
 * @module
 */

/** A writer whose start was deferred to a later turn. */
export interface PacedWriter {
  /** Starts the deferred write now (already counted in the turn's budget). */
  resumeWrite(): void;
}

/**
 * Writes started per turn: below the runtime's budget of 128, leaving room
 * for the reads and accepts that complete in the same turn.
 */
export const WRITES_PER_TURN = 96;

// Spent slots at the queue's front dropped at once, when they are at least
// half of it: each slot is copied at most once.
const COMPACT_AFTER = 1024;

/** Counts the writes started in a turn and defers the rest. */
export class WritePacer {
  #limit: number;
  #started = 0;
  #waiting: (PacedWriter | undefined)[] = [];
  #head = 0;
  #channel: MessageChannel | undefined;
  #scheduled = false;

  /** Creates a pacer allowing `limit` writes a turn. */
  constructor(limit = WRITES_PER_TURN) {
    this.#limit = limit;
  }

  /** Writers waiting for a later turn. */
  get waiting(): number {
    return this.#waiting.length - this.#head;
  }

  /**
   * Whether `writer` may start its write now. If not, its
   * {@link PacedWriter.resumeWrite} is called in a later turn, after those
   * that asked before it.
   */
  admit(writer: PacedWriter): boolean {
    this.#schedule();
    if (this.#started < this.#limit && this.waiting === 0) {
      this.#started++;
      return true;
    }
    this.#waiting.push(writer);
    return false;
  }

  #schedule(): void {
    if (this.#scheduled) return;
    this.#scheduled = true;
    if (this.#channel === undefined) {
      this.#channel = new MessageChannel();
      this.#channel.port1.onmessage = () => this.#turn();
    }
    this.#channel.port2.postMessage(null);
  }

  // A new turn: the count starts over, and the oldest waiting writers go.
  #turn(): void {
    this.#scheduled = false;
    this.#started = 0;
    const waiting = this.#waiting;
    while (this.#head < waiting.length && this.#started < this.#limit) {
      const writer = waiting[this.#head] as PacedWriter;
      waiting[this.#head++] = undefined;
      this.#started++;
      writer.resumeWrite();
    }
    if (this.#head === waiting.length) {
      this.#waiting = [];
      this.#head = 0;
    } else if (
      this.#head >= COMPACT_AFTER && this.#head * 2 >= waiting.length
    ) {
      // Under load that never lets the queue empty (a saturated fan-out, a
      // ping flood on many connections) the spent slots would pile up for
      // good: a 40 s saturated fan-out to 1,000 clients left 1.6 million.
      this.#waiting = waiting.slice(this.#head);
      this.#head = 0;
    }
    if (this.#started > 0) {
      // This turn's writes count until the next one.
      this.#schedule();
    } else {
      this.#channel?.port1.close();
      this.#channel = undefined;
    }
  }
}

/** The pacer every connection of this isolate shares: the budget is its. */
export const sharedPacer: WritePacer = new WritePacer();
