/**
 * The check every frame the tests' clients receive goes through (installed
 * as the client library's `onFrame`, so no test can skip it): today the
 * protocol's valibot schemas; the AsyncAPI contract check plugs in here.
 */
import { readServerMessage } from "../../src/protocol/mod.ts";

/** Throws when `text` is not a message the protocol allows a server to send. */
export function checkFrame(text: string): void {
  const read = readServerMessage(text);
  if (!read.ok) {
    throw new Error(
      `a frame outside the protocol (${read.reason}): ${text.slice(0, 200)}`,
    );
  }
}
