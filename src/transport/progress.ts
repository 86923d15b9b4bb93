/**
 * How far a client has read, told by its pongs to our progress pings, and
 * how much may be in flight to it.
 *
 * Write completions cannot tell how far a client has read: the kernel
 * takes megabytes for a client (on loopback, about 4 MB before a write
 * waits, and then wakes the writer only after a third of that has drained).
 * A ping sent behind those megabytes reaches a client that reads slower
 * than its stream only a minute later, long after its read timeout. So a
 * ping goes out with a payload the client cannot guess without reading it
 * (a random prefix per connection, then a counter) after every
 * {@link MARK_EVERY} bytes written while frames wait for the client, and
 * once {@link MARK_AFTER} bytes have gone out since the client last proved
 * it read them even while none wait; once it has answered one, no data goes
 * out past {@link WINDOW} unproven bytes until a pong comes back. A client
 * that keeps up gets a ping per {@link MARK_AFTER} bytes at most; a client
 * that reads slower than its stream gets its events dropped from our queue
 * instead of piled up in the kernel, and every ping, pong and close frame
 * reaches it behind at most the window. (On loopback the pongs also carry
 * the client's TCP acknowledgements back sooner: with a ping every 32 KiB
 * to clients that are behind, the fan-out bench delivers 84-90% of its
 * events where it delivers 47% with none.)
 *
 * @module
 */
import { encodeFrame, OPCODE } from "./frames.ts";

/** Unproven bytes after which a client that keeps up gets a progress ping. */
export const MARK_AFTER = 256 * 1024;
/** Bytes written between progress pings, at least. */
export const MARK_EVERY = 32 * 1024;
/** Unproven bytes past which no more data is written until a pong. */
export const WINDOW = 2 * MARK_AFTER;
/**
 * Progress pings left unanswered past which no more are sent until one is
 * answered: 16 MiB of them, more than the kernel takes for a client.
 */
export const MAX_UNANSWERED = 512;

const PREFIX_BYTES = 4;
// Shared until a connection sends its first progress ping: most never do.
const NO_ENDS: number[] = [];
const PAYLOAD_BYTES = PREFIX_BYTES + 4;

/** The progress pings of one connection and what they proved. */
export class ProgressMarks {
  #prefix: Uint8Array | undefined;
  // Bytes handed to the socket, and where the client has proven to be.
  #written = 0;
  #proven = 0;
  #lastMark = 0;
  // Marks sent and answered, by number, and where each one ends.
  #sent = 0;
  #answered = 0;
  #ends: number[] = NO_ENDS;

  /** Bytes handed to the socket so far. */
  get written(): number {
    return this.#written;
  }

  /** Bytes written that the client has not yet proven it read. */
  get unproven(): number {
    return this.#written - this.#proven;
  }

  /**
   * Whether data must wait for a pong: the window is full. Only for a
   * client that has answered a progress ping: one that never does (it
   * breaks RFC 6455 5.5.2) is left to the kernel's buffers and the write
   * timeout, as if there were no window.
   */
  get paused(): boolean {
    return this.#answered > 0 && this.#written - this.#proven >= WINDOW;
  }

  /**
   * Whether the next write should be a progress ping, given whether frames
   * wait for the client (it is `behind`).
   */
  due(behind: boolean): boolean {
    // A client that never answers (it keeps itself heard otherwise) would
    // have every mark remembered, one per 32 KiB sent, for as long as it
    // stays; marks before the window's first answer need far fewer.
    if (this.#sent - this.#answered >= MAX_UNANSWERED) return false;
    return this.#written - this.#lastMark >= MARK_EVERY &&
      (behind || this.#written - this.#proven >= MARK_AFTER);
  }

  /** Counts `bytes` handed to the socket. */
  wrote(bytes: number): void {
    this.#written += bytes;
  }

  /**
   * A new progress ping, to be written next, after `ahead` bytes of other
   * frames in the same write.
   */
  next(ahead = 0): Uint8Array {
    this.#prefix ??= crypto.getRandomValues(new Uint8Array(PREFIX_BYTES));
    const payload = new Uint8Array(PAYLOAD_BYTES);
    payload.set(this.#prefix);
    new DataView(payload.buffer).setUint32(PREFIX_BYTES, ++this.#sent);
    const frame = encodeFrame(OPCODE.ping, payload);
    this.#lastMark = this.#written + ahead + frame.length;
    if (this.#ends === NO_ENDS) this.#ends = [];
    this.#ends.push(this.#lastMark);
    return frame;
  }

  /**
   * Takes a pong's payload. Returns true when it answers one of our
   * progress pings not answered before: the client has read that far.
   */
  answered(payload: Uint8Array): boolean {
    const prefix = this.#prefix;
    if (prefix === undefined || payload.length !== PAYLOAD_BYTES) return false;
    for (let i = 0; i < PREFIX_BYTES; i++) {
      if (payload[i] !== prefix[i]) return false;
    }
    const mark = new DataView(
      payload.buffer,
      payload.byteOffset,
      PAYLOAD_BYTES,
    ).getUint32(PREFIX_BYTES);
    if (mark <= this.#answered || mark > this.#sent) return false;
    const end = this.#ends[mark - this.#answered - 1];
    this.#ends = this.#ends.slice(mark - this.#answered);
    this.#answered = mark;
    this.#proven = Math.max(this.#proven, end);
    return true;
  }
}
