/**
 * The soak's prompt readers, in a process of their own so that the load
 * the soak generates cannot slow them down: COUNT clients of the client
 * library subscribed to `personas`, each reading at once (every event
 * checked against the protocol) and checking that the offsets come one
 * after another.
 *
 * Usage: soak_readers.ts URL COUNT
 * Prints `ready` once all are subscribed. On `report` (stdin), prints
 * `result {json}`: per reader the first and last offset it saw, how many
 * events it received, how many offsets it found missing, and whether its
 * connection ended.
 *
 * @module
 */
import { Connection, webSocketDialer } from "../src/client/mod.ts";

const [url, countArg] = Deno.args;

/** What one reader saw. */
export interface ReaderState {
  /** The topic's offset when its subscription was answered. */
  from: number;
  /** The last offset received. */
  last: number;
  /** Events received. */
  received: number;
  /** Offsets skipped between events received. */
  missing: number;
  /** Whether its connection ended. */
  ended: boolean;
}

// One reader, on the client library: every event checked, its offset
// compared with the last.
async function open(): Promise<ReaderState> {
  const state: ReaderState = {
    from: 0,
    last: 0,
    received: 0,
    missing: 0,
    ended: false,
  };
  const connection = await Connection.open(webSocketDialer(url), {
    url,
    timeoutMs: 60_000,
  });
  connection.onEvent = (event) => {
    state.received++;
    state.missing += Math.max(0, event.offset - state.last - 1);
    state.last = event.offset;
  };
  connection.closed.then(() => state.ended = true);
  const subscribed = await connection.subscribe("personas");
  state.from = state.last = subscribed.offset;
  return state;
}

const readers = await Promise.all(
  Array.from({ length: Number(countArg) }, open),
);
console.log("ready");

for await (
  const chunk of Deno.stdin.readable.pipeThrough(new TextDecoderStream())
) {
  if (chunk.includes("report")) {
    console.log(`result ${JSON.stringify(readers)}`);
  }
}
Deno.exit(0);
