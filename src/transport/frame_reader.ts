/**
 * Reads WebSocket frames from a byte stream a chunk at a time, enforcing
 * the protocol's rules and the server's message limits while the bytes
 * arrive: a message that would grow past the size limit, or take more
 * frames than allowed, is refused at its frame header, before its payload
 * is read, so a peer can never make the server hold more than the limit
 * for it nor spend CPU on endless empty fragments; text is checked as it
 * arrives, so invalid UTF-8 fails the connection in the read that brings
 * it.
 *
 * The reader owns the buffer the connection reads into ({@link
 * FrameReader.space} and {@link FrameReader.commit}). A message that
 * arrives whole in one frame, as clients send them, is unmasked and decoded
 * where it lies; only a fragmented message, or one larger than the buffer,
 * is copied into a message buffer, which is let go once the message is
 * read. Control frames are read whole from the read buffer too. So an idle
 * connection holds its read buffer and nothing else, and the read buffer
 * starts small: it grows while reads fill it, and goes back to its
 * smallest once a read brings only a few bytes (a pong, a request).
 *
 * @module
 */
import {
  type FrameHeader,
  readFrameHeader,
  type Violation,
  violation,
} from "./frame_header.ts";
import { CLOSE_CODE, OPCODE, unmask } from "./frames.ts";
import { closeFrameProblem } from "./close.ts";
import { checkUtf8, UTF8_COMPLETE, UTF8_INVALID } from "./utf8.ts";

/** One thing read from the peer. */
export type Inbound =
  | { kind: "text"; text: string }
  // `data` only when the reader keeps binary messages.
  | { kind: "binary"; bytes: number; data?: Uint8Array }
  // Control payloads are views into the reader's read buffer, valid until
  // the next read into it (FrameReader.space).
  | { kind: "ping"; payload: Uint8Array }
  | { kind: "pong"; payload: Uint8Array }
  | { kind: "close"; code: number | undefined; reason: string }
  | Violation;

/** Options for {@link FrameReader}. */
export interface FrameReaderOptions {
  /** The largest message, in payload bytes, summed over its fragments. */
  maxMessageBytes: number;
  /**
   * The most frames one message may take. Default
   * {@link DEFAULT_MAX_MESSAGE_FRAMES}.
   */
  maxMessageFrames?: number;
  /** Whether binary messages are assembled (else only counted). */
  keepBinary?: boolean;
  /** The largest the read buffer grows to. Default 4 KiB. */
  bufferBytes?: number;
}

/**
 * The most frames a message may take by default: 512 KiB (the default
 * message limit) in 4-byte fragments. Browsers and WebSocket libraries
 * send a message in one frame, or in fragments of kilobytes.
 */
export const DEFAULT_MAX_MESSAGE_FRAMES = 131_072;

interface FrameState {
  opcode: number;
  fin: boolean;
  remaining: number;
  mask: Uint8Array;
  maskOffset: number;
}

const decoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
const NO_BYTES = new Uint8Array(0);
// The read buffer's smallest size: a whole control frame (at most 131
// bytes) and a client's request fit. 10,000 idle connections hold 5 MB of
// read buffers instead of 40.
const MIN_BUFFER = 512;
// A read of fewer bytes than this into an emptied buffer shrinks it back.
const SMALL_READ = MIN_BUFFER / 4;
const INVALID_TEXT = violation(
  CLOSE_CODE.invalidData,
  "Text is not valid UTF-8.",
);

/** An incremental, limit-enforcing frame parser for one connection. */
export class FrameReader {
  #max: number;
  #maxFrames: number;
  #keepBinary: boolean;
  #maxBuffer: number;
  #buffer: Uint8Array;
  #start = 0;
  #end = 0;
  // Whether the last read filled all the room it was given; its size.
  #filled = false;
  #lastRead = 0;
  #frame: FrameState | undefined;
  // The data message being assembled: its opcode (0 when none), frames,
  // bytes, and for text where its UTF-8 stands.
  #messageOpcode = 0;
  #messageFrames = 0;
  #message: Uint8Array = NO_BYTES;
  #messageBytes = 0;
  #utf8 = UTF8_COMPLETE;
  #failed = false;
  #heldAtData = false;

  /** Creates a reader with an empty buffer. */
  constructor(options: FrameReaderOptions) {
    this.#max = options.maxMessageBytes;
    this.#maxFrames = options.maxMessageFrames ?? DEFAULT_MAX_MESSAGE_FRAMES;
    this.#keepBinary = options.keepBinary ?? false;
    this.#maxBuffer = Math.max(MIN_BUFFER, options.bufferBytes ?? 4096);
    this.#buffer = new Uint8Array(MIN_BUFFER);
  }

  /**
   * Where the next read should write. Always at least a quarter of the
   * buffer: unparsed bytes are moved to the front first. The buffer
   * doubles (up to its largest) after a read that filled it, and shrinks
   * back to its smallest once it is empty after a small read.
   */
  space(): Uint8Array {
    const buffer = this.#buffer;
    const unparsed = this.#end - this.#start;
    let size = buffer.length;
    if (this.#filled && size < this.#maxBuffer) {
      size = Math.min(this.#maxBuffer, size * 2);
    } else if (
      unparsed === 0 && size > MIN_BUFFER && this.#lastRead < SMALL_READ
    ) {
      size = MIN_BUFFER;
    }
    if (size !== buffer.length) {
      this.#buffer = new Uint8Array(size);
      this.#buffer.set(buffer.subarray(this.#start, this.#end));
      this.#start = 0;
      this.#end = unparsed;
    } else if (unparsed === 0) {
      this.#start = this.#end = 0;
    } else if (size - this.#end < size / 4) {
      buffer.copyWithin(0, this.#start, this.#end);
      this.#end = unparsed;
      this.#start = 0;
    }
    return this.#buffer.subarray(this.#end);
  }

  /** Records that a read wrote `bytes` into the last {@link FrameReader.space}. */
  commit(bytes: number): void {
    this.#filled = this.#end + bytes === this.#buffer.length;
    this.#lastRead = bytes;
    this.#end += bytes;
  }

  /**
   * Whether part of a frame or of a fragmented message has arrived and the
   * rest has not: the connection times such a message out.
   */
  get partial(): boolean {
    return this.#frame !== undefined || this.#messageOpcode !== 0 ||
      this.#end > this.#start;
  }

  /** Whether a violation has been read: nothing more will be parsed. */
  get failed(): boolean {
    return this.#failed;
  }

  /** Bytes this reader holds for its connection. */
  get heldBytes(): number {
    return this.#buffer.length + this.#message.length;
  }

  /**
   * Whether the last {@link FrameReader.next} stopped at the header of a
   * data frame because data was held.
   */
  get heldAtData(): boolean {
    return this.#heldAtData;
  }

  /**
   * The next complete item, or null when more bytes are needed. With
   * `holdData`, it stops (null, {@link FrameReader.heldAtData}) at the
   * header of a data frame and reads only control frames. After a
   * violation it returns null for good: the connection must be closed.
   */
  next(options?: { holdData?: boolean }): Inbound | null {
    this.#heldAtData = false;
    while (!this.#failed) {
      let frame = this.#frame;
      if (frame === undefined) {
        if (
          options?.holdData && this.#end > this.#start &&
          (this.#buffer[this.#start] & 0x0f) < OPCODE.close
        ) {
          this.#heldAtData = true;
          return null;
        }
        const header = readFrameHeader(this.#buffer, {
          at: this.#start,
          end: this.#end,
        }, {
          opcode: this.#messageOpcode,
          bytes: this.#messageBytes,
          frames: this.#messageFrames,
          maxBytes: this.#max,
          maxFrames: this.#maxFrames,
        });
        if (header === "incomplete") return null;
        if (header.kind === "violation") return this.#fail(header);
        const whole = this.#end - this.#start >= header.size + header.length;
        if (header.opcode >= OPCODE.close) {
          // Read whole, from the buffer: at most 131 bytes.
          if (!whole) return null;
          return this.#controlItem(header.opcode, this.#takeWhole(header));
        }
        if (whole && header.fin && header.opcode !== OPCODE.continuation) {
          return this.#wholeMessage(header);
        }
        frame = this.#begin(header);
      }
      const problem = this.#readPayload(frame);
      if (problem) return this.#fail(problem);
      if (frame.remaining > 0) return null;
      this.#frame = undefined;
      if (frame.fin) return this.#finishMessage();
    }
    return null;
  }

  // Starts reading the frame whose header was just read.
  #begin(header: FrameHeader): FrameState {
    this.#start += header.size;
    const { opcode, fin, length, mask } = header;
    const frame = { opcode, fin, remaining: length, mask, maskOffset: 0 };
    this.#frame = frame;
    if (opcode === OPCODE.continuation) {
      this.#messageFrames++;
    } else {
      this.#messageOpcode = opcode;
      this.#messageFrames = 1;
      this.#messageBytes = 0;
      this.#utf8 = UTF8_COMPLETE;
    }
    return frame;
  }

  // Takes what has arrived of the frame's payload; a violation when it
  // makes the text invalid.
  #readPayload(frame: FrameState): Violation | undefined {
    const take = Math.min(frame.remaining, this.#end - this.#start);
    if (take === 0) return undefined;
    const chunk = this.#buffer.subarray(this.#start, this.#start + take);
    this.#start += take;
    frame.remaining -= take;
    const offset = frame.maskOffset;
    frame.maskOffset += take;
    const text = this.#messageOpcode === OPCODE.text;
    if (!text && !this.#keepBinary) {
      // Binary messages are refused unread: only their size matters.
      this.#messageBytes += take;
      return undefined;
    }
    const from = this.#messageBytes;
    const message = this.#grow(take);
    message.set(chunk, from);
    unmask(message.subarray(from, from + take), frame.mask, offset);
    this.#messageBytes += take;
    if (!text) return undefined;
    this.#utf8 = checkUtf8(this.#utf8, message, from, from + take);
    return this.#utf8 === UTF8_INVALID ? INVALID_TEXT : undefined;
  }

  // Room for `more` message bytes, doubling so that a message sent as many
  // tiny fragments costs amortized copies, not one object per fragment.
  #grow(more: number): Uint8Array {
    const needed = this.#messageBytes + more;
    if (needed <= this.#message.length) return this.#message;
    let size = Math.max(1024, this.#message.length);
    while (size < needed) size *= 2;
    const grown = new Uint8Array(Math.min(size, Math.max(needed, this.#max)));
    grown.set(this.#message.subarray(0, this.#messageBytes));
    this.#message = grown;
    return grown;
  }

  #finishMessage(): Inbound {
    const opcode = this.#messageOpcode;
    const bytes = this.#messageBytes;
    this.#messageOpcode = 0;
    this.#messageBytes = 0;
    this.#messageFrames = 0;
    if (opcode === OPCODE.binary && !this.#keepBinary) {
      return { kind: "binary", bytes };
    }
    const data = this.#message.subarray(0, bytes);
    // An idle connection keeps no memory of its messages.
    this.#message = NO_BYTES;
    if (opcode === OPCODE.binary) return { kind: "binary", bytes, data };
    // A character begun and never finished.
    if (this.#utf8 !== UTF8_COMPLETE) return this.#fail(INVALID_TEXT);
    return { kind: "text", text: decoder.decode(data) };
  }

  // Takes a frame that lies whole in the read buffer: its payload,
  // unmasked where it is.
  #takeWhole(header: FrameHeader): Uint8Array {
    const from = this.#start + header.size;
    const payload = this.#buffer.subarray(from, from + header.length);
    unmask(payload, header.mask, 0);
    this.#start = from + header.length;
    return payload;
  }

  // A one-frame message that lies whole in the read buffer: decoded where
  // it is, without the message buffer.
  #wholeMessage(header: FrameHeader): Inbound {
    if (header.opcode === OPCODE.binary && !this.#keepBinary) {
      this.#start += header.size + header.length;
      return { kind: "binary", bytes: header.length };
    }
    const payload = this.#takeWhole(header);
    if (header.opcode === OPCODE.binary) {
      return { kind: "binary", bytes: payload.length, data: payload.slice() };
    }
    // The fatal decoder checks UTF-8 as strictly as checkUtf8 and at half
    // its cost (1 ms against 0.5 for 512 KiB): a message read whole needs
    // no check of its own.
    try {
      return { kind: "text", text: decoder.decode(payload) };
    } catch {
      return this.#fail(INVALID_TEXT);
    }
  }

  #controlItem(opcode: number, payload: Uint8Array): Inbound {
    if (opcode === OPCODE.ping) return { kind: "ping", payload };
    if (opcode === OPCODE.pong) return { kind: "pong", payload };
    const problem = closeFrameProblem(payload);
    if (problem) return this.#fail(problem);
    if (payload.length === 0) {
      return { kind: "close", code: undefined, reason: "" };
    }
    return {
      kind: "close",
      code: (payload[0] << 8) | payload[1],
      reason: decoder.decode(payload.subarray(2)),
    };
  }

  #fail(problem: Violation): Violation {
    this.#failed = true;
    this.#message = NO_BYTES;
    return problem;
  }
}
