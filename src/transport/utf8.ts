/**
 * UTF-8 checked a byte at a time, across chunk boundaries, so a text
 * message is failed at the first byte that cannot begin or continue valid
 * UTF-8 (RFC 3629: no overlong forms, no surrogates, nothing past
 * U+10FFFF), in the fragment and even the read that brings it, not when
 * the message ends.
 *
 * @module
 */

/** The state between characters: what a complete message must end in. */
export const UTF8_COMPLETE = 0;
/** The state after a byte that no valid UTF-8 can have there. */
export const UTF8_INVALID = -1;

// A state in between is a character begun: the continuation bytes still
// needed (bits 16 and up) and the range the next one must fall in (the
// second byte of some lead bytes has a narrower one than 80-BF).
function pending(need: number, lower: number, upper: number): number {
  return (need << 16) | (lower << 8) | upper;
}

/**
 * Checks `bytes[start..end)` from `state` (the result of the previous
 * chunk, {@link UTF8_COMPLETE} at a message's start). Returns the state
 * after them, or {@link UTF8_INVALID} at the first byte that breaks UTF-8.
 */
export function checkUtf8(
  state: number,
  bytes: Uint8Array,
  start: number,
  end: number,
): number {
  let need = state >>> 16;
  let lower = (state >>> 8) & 0xff;
  let upper = state & 0xff;
  for (let i = start; i < end; i++) {
    const byte = bytes[i];
    if (need > 0) {
      if (byte < lower || byte > upper) return UTF8_INVALID;
      need--;
      lower = 0x80;
      upper = 0xbf;
    } else if (byte >= 0x80) {
      if (byte < 0xc2 || byte > 0xf4) return UTF8_INVALID;
      lower = 0x80;
      upper = 0xbf;
      if (byte < 0xe0) {
        need = 1;
      } else if (byte < 0xf0) {
        need = 2;
        // E0 would be overlong below A0; ED would be a surrogate from A0.
        if (byte === 0xe0) lower = 0xa0;
        if (byte === 0xed) upper = 0x9f;
      } else {
        need = 3;
        // F0 would be overlong below 90; F4 goes past U+10FFFF from 90.
        if (byte === 0xf0) lower = 0x90;
        if (byte === 0xf4) upper = 0x8f;
      }
    }
  }
  return need === 0 ? UTF8_COMPLETE : pending(need, lower, upper);
}
