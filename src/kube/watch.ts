/**
 * The watch stream: newline-delimited JSON watch events, read across
 * arbitrary chunk boundaries (a line may arrive in many pieces, and one
 * chunk may hold many lines; multi-byte characters may be split too).
 *
 * @module
 */
import * as v from "valibot";

const WatchEventSchema = v.object({
  type: v.picklist(["ADDED", "MODIFIED", "DELETED", "BOOKMARK", "ERROR"]),
  object: v.record(v.string(), v.unknown()),
});

/**
 * The longest watch line read: one object, and etcd stores none larger
 * than its request limit (1.5 MiB by default).
 */
export const MAX_LINE_CHARS = 64 * 1024 * 1024;

/** One event of a watch. */
export type WatchEvent = v.InferOutput<typeof WatchEventSchema>;

/**
 * A line that is not a watch event. The watch must be restarted from the
 * last good resource version: skipping the line could lose a change.
 */
export class WatchDecodeError extends Error {
  /** Creates the error, quoting the start of the offending line. */
  constructor(reason: string, line: string) {
    super(
      `${reason}: ${line.length > 120 ? `${line.slice(0, 120)}...` : line}`,
    );
    this.name = "WatchDecodeError";
  }
}

/**
 * Yields the events of a watch response body. Throws
 * {@link WatchDecodeError} for a malformed line or a stream that ends in
 * the middle of one; network errors from the body propagate as they are.
 */
export async function* readWatchEvents(
  body: ReadableStream<Uint8Array>,
): AsyncGenerator<WatchEvent> {
  // The start of a line whose end has not come yet. Only each new chunk
  // is searched for a newline, so a long line costs its length once.
  let pending = "";
  for await (const chunk of body.pipeThrough(new TextDecoderStream())) {
    let start = 0;
    let newline: number;
    while ((newline = chunk.indexOf("\n", start)) >= 0) {
      const line = pending + chunk.slice(start, newline);
      pending = "";
      start = newline + 1;
      if (line.trim() !== "") yield decodeLine(line);
    }
    pending += chunk.slice(start);
    if (pending.length > MAX_LINE_CHARS) {
      throw new WatchDecodeError(
        `A watch line is longer than ${MAX_LINE_CHARS / 1024 / 1024} MiB`,
        pending,
      );
    }
  }
  if (pending.trim() !== "") {
    throw new WatchDecodeError("The watch stream ended mid-line", pending);
  }
}

/** Parses one line into a watch event, or throws {@link WatchDecodeError}. */
export function decodeLine(line: string): WatchEvent {
  let parsed: unknown;
  try {
    parsed = JSON.parse(line);
  } catch {
    throw new WatchDecodeError("A watch line is not JSON", line);
  }
  const result = v.safeParse(WatchEventSchema, parsed);
  if (!result.success) {
    throw new WatchDecodeError("A watch line is not a watch event", line);
  }
  return result.output;
}
