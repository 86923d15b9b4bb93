/**
 * What each WebSocket close code means to a caller: why the connection
 * ended, in words, and whether reconnecting can help.
 *
 * @module
 */

/** What a close code means for the caller. */
export interface CloseMeaning {
  /** In words, with the code. */
  reason: string;
  /** Whether reconnecting can help. */
  retry: boolean;
}

/**
 * What a close code means: the server going away (1001), dropping a client
 * that fell behind (1008) or a dropped line (1006) are worth a reconnect;
 * a message too big (1009), a protocol violation (1002) or invalid data
 * (1007) would only happen again.
 */
export function closeMeaning(code: number, reason = ""): CloseMeaning {
  const said = reason ? `: ${reason}` : "";
  switch (code) {
    case 1000:
      return { reason: `closed (1000${said})`, retry: true };
    case 1001:
      return { reason: "the server is going away (1001)", retry: true };
    case 1002:
      return { reason: `a protocol error (1002${said})`, retry: false };
    case 1006:
      return { reason: "the connection dropped (1006)", retry: true };
    case 1007:
      return { reason: `invalid data (1007${said})`, retry: false };
    case 1008:
      return { reason: `the server closed it (1008${said})`, retry: true };
    case 1009:
      return { reason: "a message was too big (1009)", retry: false };
    case 1011:
      return { reason: `a server error (1011${said})`, retry: true };
    case 1012:
    case 1013:
      return {
        reason: `the server asks to retry later (${code})`,
        retry: true,
      };
    default:
      return {
        reason: reason ? `${reason} (${code})` : `code ${code}`,
        retry: true,
      };
  }
}
