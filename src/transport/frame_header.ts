/**
 * One client frame header (RFC 6455 section 5.2), read and judged: every
 * rule a header alone can break, and the message limits, in bytes and in
 * frames, checked before any of the frame's payload is read.
 *
 * @module
 */
import { CLOSE_CODE, MAX_CONTROL_PAYLOAD, OPCODE } from "./frames.ts";

/** A rule the peer broke, and the close code (RFC 6455 7.4.1) that says so. */
export interface Violation {
  /** What it is. */
  kind: "violation";
  /** The close code to fail the connection with. */
  code: number;
  /** What was wrong, for the close frame. */
  reason: string;
}

/** A violation with `code` and `reason`. */
export function violation(code: number, reason: string): Violation {
  return { kind: "violation", code, reason };
}

/** A header that passed every check. */
export interface FrameHeader {
  /** What it is. */
  kind: "header";
  opcode: number;
  fin: boolean;
  /** Payload bytes. */
  length: number;
  /** The masking key, as four bytes. */
  mask: Uint8Array;
  /** Bytes the header took. */
  size: number;
}

/** What reading a header found: not all of it yet, a header, or a violation. */
export type HeaderRead = "incomplete" | FrameHeader | Violation;

/** The data message a header arrives in the middle of, and the limits. */
export interface MessageSoFar {
  /** The opcode of the message being assembled; 0 when there is none. */
  opcode: number;
  /** Its payload bytes so far. */
  bytes: number;
  /** Its frames so far. */
  frames: number;
  /** The largest message, summed over its fragments. */
  maxBytes: number;
  /** The most frames one message may take. */
  maxFrames: number;
}

/** Reads the header at `buffer[at..end)` of a frame from a client. */
export function readFrameHeader(
  buffer: Uint8Array,
  range: { at: number; end: number },
  message: MessageSoFar,
): HeaderRead {
  const { at, end } = range;
  if (end - at < 2) return "incomplete";
  const b0 = buffer[at];
  const b1 = buffer[at + 1];
  const opcode = b0 & 0x0f;
  const fin = (b0 & 0x80) !== 0;
  const length7 = b1 & 0x7f;
  const control = opcode >= OPCODE.close;
  const problem = ruleBroken({ b0, b1, opcode, fin, length7 }, message);
  if (problem) return problem;
  const extended = length7 === 126 ? 2 : length7 === 127 ? 8 : 0;
  const size = 2 + extended + 4;
  if (end - at < size) return "incomplete";
  let length = length7;
  if (extended === 2) {
    length = (buffer[at + 2] << 8) | buffer[at + 3];
  } else if (extended === 8) {
    const view = new DataView(buffer.buffer, buffer.byteOffset + at + 2, 8);
    const high = view.getUint32(0);
    if (high & 0x80000000) {
      return violation(CLOSE_CODE.protocolError, "Frame length out of range.");
    }
    // Anything needing the high word is far past any limit.
    length = high > 0 ? Number.MAX_SAFE_INTEGER : view.getUint32(4);
  }
  if (!control) {
    const sofar = opcode === OPCODE.continuation ? message.bytes : 0;
    if (sofar + length > message.maxBytes) {
      return violation(
        CLOSE_CODE.tooBig,
        `Message too big: the limit is ${message.maxBytes} bytes.`,
      );
    }
  }
  const mask = buffer.slice(at + 2 + extended, at + size);
  return { kind: "header", opcode, fin, length, mask, size };
}

// The rules the first two bytes can break, given the message under way.
function ruleBroken(
  first: {
    b0: number;
    b1: number;
    opcode: number;
    fin: boolean;
    length7: number;
  },
  message: MessageSoFar,
): Violation | undefined {
  const { b0, b1, opcode, fin, length7 } = first;
  const protocol = (reason: string) =>
    violation(CLOSE_CODE.protocolError, reason);
  if ((b0 & 0x70) !== 0) {
    return protocol("Reserved bits set without an extension.");
  }
  if ((b1 & 0x80) === 0) return protocol("Client frames must be masked.");
  if (
    (opcode > OPCODE.binary && opcode < OPCODE.close) || opcode > OPCODE.pong
  ) {
    return protocol(`Unknown opcode ${opcode}.`);
  }
  if (opcode >= OPCODE.close) {
    return !fin || length7 > MAX_CONTROL_PAYLOAD
      ? protocol("Control frames must be whole and at most 125 bytes.")
      : undefined;
  }
  if (opcode !== OPCODE.continuation) {
    return message.opcode !== 0
      ? protocol("A new message began before the fragmented one ended.")
      : undefined;
  }
  if (message.opcode === 0) {
    return protocol("A continuation frame without a message.");
  }
  if (message.frames >= message.maxFrames) {
    return violation(
      CLOSE_CODE.tooBig,
      `Message too big: more than ${message.maxFrames} frames.`,
    );
  }
  return undefined;
}
