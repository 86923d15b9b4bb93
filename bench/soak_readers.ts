/**
 * The soak's prompt readers, in a process of their own so that the load
 * the soak generates cannot slow them down: COUNT WebSocket clients
 * subscribed to `personas`, each reading at once and checking that the
 * offsets come one after another.
 *
 * Usage: soak_readers.ts URL COUNT
 * Prints `ready` once all are subscribed. On `report` (stdin), prints
 * `result {json}`: per reader the first and last offset it saw, how many
 * events it received, how many offsets it found missing, and whether its
 * connection ended.
 */
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

function open(): Promise<ReaderState> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url);
    const state: ReaderState = {
      from: 0,
      last: 0,
      received: 0,
      missing: 0,
      ended: false,
    };
    socket.onopen = () => {
      socket.send(
        JSON.stringify({
          type: "subscribe",
          topic: "personas",
          requestId: "s",
        }),
      );
    };
    socket.onmessage = (message) => {
      const parsed = JSON.parse(message.data as string);
      if (parsed.type === "response") {
        state.from = state.last = parsed.offset;
        resolve(state);
        return;
      }
      if (parsed.type !== "event") return;
      state.received++;
      state.missing += Math.max(0, parsed.offset - state.last - 1);
      state.last = parsed.offset;
    };
    socket.onclose = () => state.ended = true;
    socket.onerror = (event) =>
      reject(new Error((event as ErrorEvent).message));
  });
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
