/**
 * One load-generating process: opens CONNECTIONS connections through the
 * client library, subscribes each to `events`, then counts what arrives.
 * Events come as text (the library's `eventsAsText`: not parsed, not
 * checked), so the client stays cheaper than the server it measures;
 * every SAMPLE-th one is read and checked (`readEvent`), and its latency
 * taken from the send time the server put in it.
 *
 * Usage: load_client.ts URL CONNECTIONS EXPECTED SAMPLE
 * Prints `ready` once all are subscribed, then one `result {json}` line
 * when EXPECTED events reached every connection (or on `report` on stdin).
 * `expect N` on stdin starts a new count, acknowledged with `expecting`;
 * `count` prints `count N`, the messages received so far.
 *
 * @module
 */
import {
  Connection,
  eventsAsText,
  readEvent,
  type TopicEvent,
  webSocketDialer,
} from "../src/client/mod.ts";

const [url, connectionsArg, expectedArg, sampleArg] = Deno.args;
const connections = Number(connectionsArg);
let expected = Number(expectedArg);
const sample = Number(sampleArg);

let received = 0;
let lastAt = 0;
let firstAt = 0;
const latencies: number[] = [];
const open: Connection[] = [];
let reported = false;

function now(): number {
  return performance.timeOrigin + performance.now();
}

function report(): void {
  if (reported) return;
  reported = true;
  console.log(
    `result ${JSON.stringify({ received, firstAt, lastAt, latencies })}`,
  );
}

// Counts one event; `read` gives it checked, for the sample.
function count(read: () => TopicEvent): void {
  const at = now();
  if (received === 0) firstAt = at;
  received++;
  lastAt = at;
  if (received % sample === 0) {
    const { payload } = read() as TopicEvent<"events">;
    if (payload.kind === "kubernetes") {
      latencies.push(at - Number(payload.message));
    }
  }
  if (received === expected * connections) report();
}

async function connect(): Promise<void> {
  const dial = eventsAsText(
    webSocketDialer(url),
    (text) => count(() => readEvent(text)),
  );
  // Thousands connect at once on a busy machine: no 10 s deadline.
  const connection = await Connection.open(dial, { url, timeoutMs: 120_000 });
  // An event the server wrote otherwise arrives checked.
  connection.onEvent = (event) => count(() => event);
  await connection.subscribe("events");
  open.push(connection);
}

for (let i = 0; i < connections; i += 250) {
  await Promise.all(
    Array.from({ length: Math.min(250, connections - i) }, connect),
  );
}
console.log("ready");

for await (
  const chunk of Deno.stdin.readable.pipeThrough(new TextDecoderStream())
) {
  for (const line of chunk.split("\n")) {
    const [command, arg] = line.trim().split(" ");
    if (command === "expect") {
      received = 0;
      latencies.length = 0;
      expected = Number(arg);
      reported = false;
      // The runner publishes only once every client has reset its count:
      // an event counted before the reset would be lost to the round.
      console.log("expecting");
    } else if (command === "report") {
      report();
    } else if (command === "count") {
      console.log(`count ${received}`);
    }
  }
}
Deno.exit(0);
