/**
 * One load-generating process: opens CONNECTIONS WebSockets, subscribes
 * each to `events`, then counts what arrives. Every SAMPLE-th message has
 * its latency taken from the send time the server put in it; the rest are
 * only counted, so the client stays cheaper than the server it measures.
 *
 * Usage: load_client.ts URL CONNECTIONS EXPECTED SAMPLE
 * Prints `ready` once all are subscribed, then one `result {json}` line
 * when EXPECTED events reached every connection (or on `report` on stdin).
 * `expect N` on stdin starts a new count, acknowledged with `expecting`;
 * `count` prints `count N`, the messages received so far.
 */
const [url, connectionsArg, expectedArg, sampleArg] = Deno.args;
const connections = Number(connectionsArg);
let expected = Number(expectedArg);
const sample = Number(sampleArg);

let received = 0;
let lastAt = 0;
let firstAt = 0;
const latencies: number[] = [];
const sockets: WebSocket[] = [];
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

function onMessage(event: MessageEvent): void {
  const data = event.data as string;
  if (data.charCodeAt(10) !== 118) return; // {"type":"ev... is an event
  const at = now();
  if (received === 0) firstAt = at;
  received++;
  lastAt = at;
  if (received % sample === 0) {
    const start = data.indexOf('"message":"') + 11;
    latencies.push(at - Number(data.slice(start, data.indexOf('"', start))));
  }
  if (received === expected * connections) report();
}

function open(): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url);
    socket.onopen = () => {
      socket.send(
        JSON.stringify({ type: "subscribe", topic: "events", requestId: "s" }),
      );
    };
    socket.onmessage = (event) => {
      socket.onmessage = onMessage;
      resolve();
      onMessage(event);
    };
    socket.onerror = (event) =>
      reject(new Error((event as ErrorEvent).message));
    sockets.push(socket);
  });
}

for (let i = 0; i < connections; i += 250) {
  await Promise.all(
    Array.from({ length: Math.min(250, connections - i) }, open),
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
