/**
 * Reads WebSocket frames from a byte stream a chunk at a time, enforcing
 * the protocol's rules and the server's message size limit while the bytes
 * arrive: a message that would grow past the limit is refused at its frame
 * header, before its payload is read, so a peer can never make the server
 * hold more than the limit for it.
 *
 * The reader owns the buffer the connection reads into ({@link
 * FrameReader.space} and {@link FrameReader.commit}), so bytes are copied
 * once, from the read buffer into the message being assembled.
 *
 * @module
 */
import {
  CLOSE_CODE,
  MAX_CONTROL_PAYLOAD,
  OPCODE,
  unmask,
  validCloseCode,
} from "./frames.ts";

/** A rule the peer broke, and the close code (RFC 6455 7.4.1) that says so. */
export interface Violation {
  /** What it is. */
  kind: "violation";
  /** The close code to fail the connection with. */
  code: number;
  /** What was wrong, for the close frame. */
  reason: string;
}

/** One thing read from the peer. */
export type Inbound =
  | { kind: "text"; text: string }
  | { kind: "binary"; bytes: number }
  // Control payloads are views into the reader's buffer, valid until the
  // next call to next().
  | { kind: "ping"; payload: Uint8Array }
  | { kind: "pong"; payload: Uint8Array }
  | { kind: "close"; code: number | undefined; reason: string }
  | Violation;

// What reading a frame header found: not all of it yet, a frame whose
// payload can now be read, or a violation.
type HeaderRead = "incomplete" | "ready" | Violation;

/** Options for {@link FrameReader}. */
export interface FrameReaderOptions {
  /** The largest message, in payload bytes, summed over its fragments. */
  maxMessageBytes: number;
  /** Size of the read buffer. Default 4 KiB. */
  bufferBytes?: number;
}

interface FrameState {
  opcode: number;
  fin: boolean;
  remaining: number;
  mask: Uint8Array;
  maskOffset: number;
}

const decoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
const NO_BYTES = new Uint8Array(0);
// A message buffer larger than this is let go once its message is read, so
// an idle connection does not keep the memory of its largest message.
const KEEP_MESSAGE_BUFFER = 16 * 1024;

/** An incremental, limit-enforcing frame parser for one connection. */
export class FrameReader {
  #max: number;
  #buffer: Uint8Array;
  #start = 0;
  #end = 0;
  #frame: FrameState | undefined;
  // The data message being assembled: its opcode (0 when none) and bytes.
  #messageOpcode = 0;
  #message: Uint8Array = NO_BYTES;
  #messageBytes = 0;
  #control = new Uint8Array(MAX_CONTROL_PAYLOAD);
  #controlBytes = 0;
  #failed = false;
  #heldAtData = false;

  /** Creates a reader with an empty buffer. */
  constructor(options: FrameReaderOptions) {
    this.#max = options.maxMessageBytes;
    this.#buffer = new Uint8Array(options.bufferBytes ?? 4096);
  }

  /**
   * Where the next read should write. Always at least a quarter of the
   * buffer: unparsed bytes are moved to the front first.
   */
  space(): Uint8Array {
    if (this.#start === this.#end) {
      this.#start = this.#end = 0;
    } else if (this.#buffer.length - this.#end < this.#buffer.length / 4) {
      this.#buffer.copyWithin(0, this.#start, this.#end);
      this.#end -= this.#start;
      this.#start = 0;
    }
    return this.#buffer.subarray(this.#end);
  }

  /** Records that a read wrote `bytes` into the last {@link FrameReader.space}. */
  commit(bytes: number): void {
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
      if (
        this.#frame === undefined && options?.holdData &&
        this.#end > this.#start &&
        (this.#buffer[this.#start] & 0x0f) < OPCODE.close
      ) {
        this.#heldAtData = true;
        return null;
      }
      if (this.#frame === undefined) {
        const header = this.#readHeader();
        if (header === "incomplete") return null;
        if (header !== "ready") return this.#fail(header);
      }
      const frame = this.#frame as FrameState;
      this.#readPayload(frame);
      if (frame.remaining > 0) return null;
      this.#frame = undefined;
      if (frame.opcode >= OPCODE.close) return this.#controlItem(frame.opcode);
      if (frame.fin) return this.#finishMessage();
    }
    return null;
  }

  // Parses a frame header if one is complete.
  #readHeader(): HeaderRead {
    const buffer = this.#buffer;
    const at = this.#start;
    const available = this.#end - at;
    if (available < 2) return "incomplete";
    const b0 = buffer[at];
    const b1 = buffer[at + 1];
    const opcode = b0 & 0x0f;
    const fin = (b0 & 0x80) !== 0;
    const length7 = b1 & 0x7f;
    if ((b0 & 0x70) !== 0) {
      return violation(
        CLOSE_CODE.protocolError,
        "Reserved bits set without an extension.",
      );
    }
    if ((b1 & 0x80) === 0) {
      return violation(
        CLOSE_CODE.protocolError,
        "Client frames must be masked.",
      );
    }
    const control = opcode >= OPCODE.close;
    if (
      (opcode > OPCODE.binary && opcode < OPCODE.close) || opcode > OPCODE.pong
    ) {
      return violation(CLOSE_CODE.protocolError, `Unknown opcode ${opcode}.`);
    }
    if (control && (!fin || length7 > MAX_CONTROL_PAYLOAD)) {
      return violation(
        CLOSE_CODE.protocolError,
        "Control frames must be whole and at most 125 bytes.",
      );
    }
    if (opcode === OPCODE.continuation && this.#messageOpcode === 0) {
      return violation(
        CLOSE_CODE.protocolError,
        "A continuation frame without a message.",
      );
    }
    if (
      !control && opcode !== OPCODE.continuation && this.#messageOpcode !== 0
    ) {
      return violation(
        CLOSE_CODE.protocolError,
        "A new message began before the fragmented one ended.",
      );
    }
    const extended = length7 === 126 ? 2 : length7 === 127 ? 8 : 0;
    const headerBytes = 2 + extended + 4;
    if (available < headerBytes) return "incomplete";
    let length = length7;
    if (extended === 2) {
      length = (buffer[at + 2] << 8) | buffer[at + 3];
    } else if (extended === 8) {
      const view = new DataView(buffer.buffer, buffer.byteOffset + at + 2, 8);
      const high = view.getUint32(0);
      if (high & 0x80000000) {
        return violation(
          CLOSE_CODE.protocolError,
          "Frame length out of range.",
        );
      }
      // Anything needing the high word is far past any limit.
      length = high > 0 ? Number.MAX_SAFE_INTEGER : view.getUint32(4);
    }
    if (!control && this.#messageBytes + length > this.#max) {
      return violation(
        CLOSE_CODE.tooBig,
        `Message too big: the limit is ${this.#max} bytes.`,
      );
    }
    const mask = buffer.slice(at + 2 + extended, at + headerBytes);
    this.#start = at + headerBytes;
    this.#frame = { opcode, fin, remaining: length, mask, maskOffset: 0 };
    if (!control && opcode !== OPCODE.continuation) {
      this.#messageOpcode = opcode;
      this.#messageBytes = 0;
    }
    if (control) this.#controlBytes = 0;
    return "ready";
  }

  #readPayload(frame: FrameState): void {
    const take = Math.min(frame.remaining, this.#end - this.#start);
    if (take === 0) return;
    const chunk = this.#buffer.subarray(this.#start, this.#start + take);
    this.#start += take;
    frame.remaining -= take;
    if (frame.opcode >= OPCODE.close) {
      const target = this.#control.subarray(
        this.#controlBytes,
        this.#controlBytes + take,
      );
      target.set(chunk);
      unmask(target, frame.mask, frame.maskOffset);
      this.#controlBytes += take;
    } else if (this.#messageOpcode === OPCODE.text) {
      const target = this.#grow(take).subarray(
        this.#messageBytes,
        this.#messageBytes + take,
      );
      target.set(chunk);
      unmask(target, frame.mask, frame.maskOffset);
      this.#messageBytes += take;
    } else {
      // Binary messages are refused unread: only their size matters.
      this.#messageBytes += take;
    }
    frame.maskOffset += take;
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
    if (opcode === OPCODE.binary) return { kind: "binary", bytes };
    const data = this.#message.subarray(0, bytes);
    if (this.#message.length > KEEP_MESSAGE_BUFFER) this.#message = NO_BYTES;
    try {
      return { kind: "text", text: decoder.decode(data) };
    } catch {
      return this.#fail(
        violation(CLOSE_CODE.invalidData, "Text is not valid UTF-8."),
      );
    }
  }

  #controlItem(opcode: number): Inbound {
    const payload = this.#control.subarray(0, this.#controlBytes);
    if (opcode === OPCODE.ping) return { kind: "ping", payload };
    if (opcode === OPCODE.pong) return { kind: "pong", payload };
    if (payload.length === 0) {
      return { kind: "close", code: undefined, reason: "" };
    }
    const code = payload.length >= 2 ? (payload[0] << 8) | payload[1] : 0;
    if (!validCloseCode(code)) {
      return this.#fail(
        violation(CLOSE_CODE.protocolError, "Invalid close code."),
      );
    }
    try {
      return {
        kind: "close",
        code,
        reason: decoder.decode(payload.subarray(2)),
      };
    } catch {
      return this.#fail(
        violation(CLOSE_CODE.invalidData, "Close reason is not valid UTF-8."),
      );
    }
  }

  #fail(problem: Violation): Violation {
    this.#failed = true;
    this.#message = NO_BYTES;
    return problem;
  }
}

function violation(code: number, reason: string): Violation {
  return { kind: "violation", code, reason };
}
