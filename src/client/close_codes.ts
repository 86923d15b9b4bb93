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
  const known = MEANINGS[code];
  if (!known) {
    return {
      reason: reason ? `${reason} (${code})` : `code ${code}`,
      retry: true,
    };
  }
  const said = reason && known[1] ? `: ${reason}` : "";
  return { reason: `${known[0]} (${code}${said})`, retry: !FINAL.has(code) };
}

// Each code's words, and whether the server's reason is worth adding.
const MEANINGS: Record<number, [string, boolean]> = {
  1000: ["closed", true],
  1001: ["the server is going away", false],
  1002: ["a protocol error", true],
  1006: ["the connection dropped", false],
  1007: ["invalid data", true],
  1008: ["the server closed it", true],
  1009: ["a message was too big", false],
  1011: ["a server error", true],
  1012: ["the server is restarting", false],
  1013: ["the server asks to retry later", false],
};

// Codes that would only come again.
const FINAL = new Set([1002, 1007, 1009]);
