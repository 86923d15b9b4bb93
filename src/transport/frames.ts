/**
 * RFC 6455 frames: encoding, and the rules a received frame must follow.
 * Pure functions over bytes; the reader and the connection build on them.
 *
 * @module
 */

/** Frame opcodes. */
export const OPCODE = {
  continuation: 0x0,
  text: 0x1,
  binary: 0x2,
  close: 0x8,
  ping: 0x9,
  pong: 0xa,
} as const;

/** Close codes the server sends (RFC 6455 section 7.4.1). */
export const CLOSE_CODE = {
  normal: 1000,
  goingAway: 1001,
  protocolError: 1002,
  invalidData: 1007,
  policy: 1008,
  tooBig: 1009,
  internal: 1011,
  tryAgainLater: 1013,
} as const;

/** The largest control frame payload (RFC 6455 section 5.5). */
export const MAX_CONTROL_PAYLOAD = 125;

const encoder = new TextEncoder();

/**
 * Encodes one frame. Server frames are unmasked; a client passes `mask`,
 * four random bytes, and the payload is masked in the copy.
 */
export function encodeFrame(
  opcode: number,
  payload: Uint8Array,
  options: { fin?: boolean; mask?: Uint8Array } = {},
): Uint8Array {
  const length = payload.length;
  const extended = length < 126 ? 0 : length < 0x10000 ? 2 : 8;
  const maskBytes = options.mask ? 4 : 0;
  const header = 2 + extended + maskBytes;
  const frame = new Uint8Array(header + length);
  frame[0] = (options.fin === false ? 0 : 0x80) | opcode;
  const maskBit = options.mask ? 0x80 : 0;
  if (extended === 0) {
    frame[1] = maskBit | length;
  } else if (extended === 2) {
    frame[1] = maskBit | 126;
    frame[2] = length >>> 8;
    frame[3] = length & 0xff;
  } else {
    frame[1] = maskBit | 127;
    // Payloads here are far below 2^32; the high word stays zero.
    new DataView(frame.buffer).setUint32(6, length);
  }
  if (options.mask) {
    const mask = options.mask;
    frame.set(mask, 2 + extended);
    for (let i = 0; i < length; i++) {
      frame[header + i] = payload[i] ^ mask[i & 3];
    }
  } else {
    frame.set(payload, header);
  }
  return frame;
}

/** A text frame holding `text`, UTF-8 encoded: what every message is. */
export function encodeText(
  text: string,
  options: { mask?: Uint8Array } = {},
): Uint8Array {
  return encodeFrame(OPCODE.text, encoder.encode(text), options);
}

/** A close frame with `code` and a reason cut to fit a control frame. */
export function encodeClose(
  code: number,
  reason: string,
  options: { mask?: Uint8Array } = {},
): Uint8Array {
  const text = encoder.encode(reason);
  // Cut on a character boundary: a close reason must stay valid UTF-8.
  let end = Math.min(text.length, MAX_CONTROL_PAYLOAD - 2);
  while (end > 0 && end < text.length && (text[end] & 0xc0) === 0x80) end--;
  const payload = new Uint8Array(2 + end);
  payload[0] = code >>> 8;
  payload[1] = code & 0xff;
  payload.set(text.subarray(0, end), 2);
  return encodeFrame(OPCODE.close, payload, options);
}

/**
 * Whether a peer may send `code` in a close frame: the defined codes, the
 * IANA-registered 1012-1014, and the 3000-4999 ranges for libraries and
 * applications; never the reserved 1004-1006 and 1015.
 */
export function validCloseCode(code: number): boolean {
  if (code >= 3000 && code <= 4999) return true;
  return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014);
}

/** Encoded frames joined into one buffer, for one write. */
export function joinFrames(frames: readonly Uint8Array[]): Uint8Array {
  let length = 0;
  for (const frame of frames) length += frame.length;
  const joined = new Uint8Array(length);
  let at = 0;
  for (const frame of frames) {
    joined.set(frame, at);
    at += frame.length;
  }
  return joined;
}

/** XORs `data` in place with `mask`, starting at mask position `offset`. */
export function unmask(
  data: Uint8Array,
  mask: Uint8Array,
  offset: number,
): void {
  for (let i = 0; i < data.length; i++) data[i] ^= mask[(offset + i) & 3];
}
