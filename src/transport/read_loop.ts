/**
 * The read side of a WebSocket connection: reads into the frame reader,
 * hands each complete item to its owner, and keeps the facts the owner's
 * timers need: when the peer was last heard, and since when a started
 * message has been waiting for the rest of its bytes.
 *
 * @module
 */
import { FrameReader, type Inbound } from "./frame_reader.ts";

/** Options for {@link ReadLoop}. */
export interface ReadLoopOptions {
  /** The largest message, summed over its fragments. */
  maxMessageBytes: number;
  /** The most frames one message may take. */
  maxMessageFrames: number;
  /** Whether binary messages are assembled (else only counted). */
  keepBinary: boolean;
  /** Milliseconds on a monotonic clock. */
  clock: () => number;
  /** Receives each item. */
  onItem(item: Inbound): void;
  /**
   * While data frames must wait (the owner's backpressure): a promise that
   * settles when they may go on. Control frames are read all the same, so
   * a held client's pongs, pings and close are heard.
   */
  dataHeld(): Promise<void> | undefined;
  /** The peer ended the stream or the connection failed. */
  onEnd(): void;
}

// Shared by every connection that is dropping what it reads.
const DISCARD = new Uint8Array(4096);

/** Reads frames from one connection until it ends. */
export class ReadLoop {
  #conn: Deno.Conn;
  #options: ReadLoopOptions;
  #reader: FrameReader;
  #leftover: Uint8Array | undefined;
  #stopped = false;
  #heardAt: number;
  // A read is waiting on the network with part of a message held: since
  // when, and how many messages had completed then (control frames that
  // arrive meanwhile do not restart the clock).
  #reading = false;
  #partialSince = 0;
  #partialSerial = -1;
  #completed = 0;

  /** Creates a loop over `conn`; call {@link ReadLoop.start}. */
  constructor(conn: Deno.Conn, options: ReadLoopOptions) {
    this.#conn = conn;
    this.#options = options;
    this.#reader = new FrameReader({
      maxMessageBytes: options.maxMessageBytes,
      maxMessageFrames: options.maxMessageFrames,
      keepBinary: options.keepBinary,
    });
    this.#heardAt = options.clock();
  }

  /** When the peer last sent anything. */
  get heardAt(): number {
    return this.#heardAt;
  }

  /**
   * Since when a read has been waiting for the rest of a started message
   * or frame; 0 when it is not.
   */
  get waitingSince(): number {
    return this.#reading ? this.#partialSince : 0;
  }

  /** Starts reading, first from `leftover`. */
  start(leftover?: Uint8Array): void {
    if (leftover?.length) this.#leftover = leftover;
    this.#run();
  }

  /** Stops handing out items; the connection is being closed. */
  stop(): void {
    this.#stopped = true;
    this.#leftover = undefined;
  }

  async #run(): Promise<void> {
    const reader = this.#reader;
    try {
      while (!this.#stopped) {
        const held = this.#options.dataHeld();
        const item = reader.next({ holdData: held !== undefined });
        if (item !== null) {
          if (item.kind === "text" || item.kind === "binary") this.#completed++;
          this.#options.onItem(item);
          continue;
        }
        if (held !== undefined && reader.heldAtData) {
          // Nothing behind a data frame can be read before it.
          await held;
          continue;
        }
        if (reader.partial) {
          if (this.#partialSerial !== this.#completed) {
            this.#partialSince = this.#options.clock();
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
        if (read === null) break;
        this.#heardAt = this.#options.clock();
        if (!reader.failed) reader.commit(read);
      }
    } catch {
      // The connection failed or was closed under the read.
    }
    if (!this.#stopped) this.#options.onEnd();
  }
}
