/**
 * Why a WebSocket connection ends: every cause, what its owner hears, the
 * cause each RFC 6455 violation code stands for, and what makes a close
 * frame from a peer valid.
 *
 * @module
 */
import { type Violation, violation } from "./frame_header.ts";
import { CLOSE_CODE, validCloseCode } from "./frames.ts";
import { checkUtf8, UTF8_COMPLETE } from "./utf8.ts";

/** Every reason a connection can end for. */
export const CLOSE_CAUSES = [
  "client",
  "client_gone",
  "read_timeout",
  "write_timeout",
  "message_timeout",
  "send_buffer_full",
  "message_too_big",
  "protocol_error",
  "invalid_data",
  "file_limit",
  "shutdown",
] as const;

/** Why a connection ended: one of {@link CLOSE_CAUSES}. */
export type CloseCause = typeof CLOSE_CAUSES[number];

/** How a connection ended, as its `closed` handler hears it. */
export interface CloseInfo {
  /** Why. */
  cause: CloseCause;
  /** The close code sent or received; 1006 when there was none. */
  code: number;
  /** The close reason sent or received. */
  reason: string;
}

/** The cause a violation's close code stands for; others are protocol errors. */
export const CAUSE_OF_VIOLATION: Record<number, CloseCause> = {
  [CLOSE_CODE.tooBig]: "message_too_big",
  [CLOSE_CODE.invalidData]: "invalid_data",
};

/**
 * What is wrong with a received close frame's payload, if anything: it
 * must be empty, or hold a code a peer may send and a UTF-8 reason.
 */
export function closeFrameProblem(payload: Uint8Array): Violation | undefined {
  if (payload.length === 0) return undefined;
  if (payload.length === 1) {
    return violation(
      CLOSE_CODE.protocolError,
      "A close frame's payload must be empty or begin with a 2-byte code; this one has 1 byte.",
    );
  }
  const code = (payload[0] << 8) | payload[1];
  if (!validCloseCode(code)) {
    return violation(
      CLOSE_CODE.protocolError,
      `Close code ${code} may not be sent: use 1000-1003, 1007-1014 or 3000-4999.`,
    );
  }
  if (checkUtf8(UTF8_COMPLETE, payload, 2, payload.length) !== UTF8_COMPLETE) {
    return violation(
      CLOSE_CODE.invalidData,
      "Close reason is not valid UTF-8.",
    );
  }
  return undefined;
}
