/**
 * Why a WebSocket connection ends: every cause, what its owner hears, and
 * the cause each RFC 6455 violation code stands for.
 *
 * @module
 */
import { CLOSE_CODE } from "./frames.ts";

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
