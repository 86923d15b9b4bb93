/**
 * `deno task soak [--minutes 3] [--readers 20] [--rate 40]`: dorgu-ws
 * (`serve --source DIR`, run as the binary runs) for minutes under steady
 * events, connection churn, subscribers that never read, and a rotation
 * of floods: pipelined requests, ping floods, slow-loris sockets, RFC 6455
 * violations, a client asking for big replies it never reads, messages
 * that never complete, half-sent request heads, pipelined /metrics never
 * read. Prompt readers run in a process of their own and check that every
 * event reaches them in order.
 *
 * It samples the server's RSS and open descriptors (from /proc) every
 * second, prints them at start, after warm-up, at the peak and at the
 * end, and exits 1 when:
 * - a prompt reader missed an event, or its connection ended;
 * - RSS grew: the median of the last 30 s of load is above the median of
 *   the last 30 s of warm-up by more than 24 MiB or 15 %, whichever is
 *   more. Warm-up is the first quarter of the run, and at least 2 minutes:
 *   every flood has run three times by then, and the runtime's heap has
 *   found its size (RSS climbs for about 2 minutes, then stays level:
 *   measured over 10);
 * - descriptors leaked: 5 s after every client has gone, the server has
 *   more open than it had at start, plus 2;
 * - an attack was not answered as it must be (a close code, a reply);
 * - the server wrote an error or anything that is not a log line.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { OPCODE } from "../src/transport/frames.ts";
import {
  exchange,
  FRAMING_VIOLATIONS,
  mib,
  openFiles,
  openSockets,
  personaList,
  pingBurst,
  pipelinedRequests,
  readMetric,
  replaceFile,
  rssOf,
  sleep,
  unfinishedRequests,
} from "../tests/support/hostile.ts";
import { clientFrame, RawSocket } from "../tests/support/raw_ws.ts";
import { spawnExample } from "../tests/support/server.ts";
import { LineProcess } from "./process.ts";
import type { ReaderState } from "./soak_readers.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    minutes: { type: "string", default: "3" },
    readers: { type: "string", default: "20" },
    rate: { type: "string", default: "40" },
  },
});
const minutes = Number(values.minutes);
const readerCount = Number(values.readers);
const perWrite = Number(values.rate);
if (!(minutes >= 3) || !(readerCount >= 1) || !(perWrite >= 1)) {
  console.error(
    "--minutes must be at least 3 (the first 2 are warm-up), --readers and --rate at least 1.",
  );
  Deno.exit(2);
}
const durationMs = minutes * 60_000;
const warmupMs = Math.max(120_000, durationMs / 4);
const WINDOW_MS = 30_000;
// Shorter than the defaults, so that hostile connections come and go
// many times in a few minutes.
const FLAGS = [
  "--write-timeout",
  "3s",
  "--message-timeout",
  "3s",
  "--header-timeout",
  "3s",
  "--read-timeout",
  "20s",
];
const MiB = 1024 * 1024;
const encoder = new TextEncoder();

const failures: string[] = [];
const counts = new Map<string, number>();
const count = (what: string, n = 1) =>
  counts.set(what, (counts.get(what) ?? 0) + n);
const check = (ok: boolean, what: string) => {
  if (!ok) failures.push(what);
};

const example = await spawnExample(FLAGS);
const { server, dir } = example;
const port = server.port;
const pid = server.child.pid;
const load = () => Deno.loadavg().map((n) => n.toFixed(2)).join(" ");
const loadAtStart = load();
console.error(
  `soak: ${minutes} min (warm-up ${
    warmupMs / 1000
  } s), ${readerCount} prompt readers, ${perWrite} events per write every 250 ms; serve ${
    FLAGS.join(" ")
  }; load average ${loadAtStart}`,
);

const samples: { at: number; rss: number; files: number }[] = [];
const started = performance.now();
const elapsed = () => performance.now() - started;
let serverAlive = true;
const sample = () => {
  try {
    samples.push({ at: elapsed(), rss: rssOf(pid), files: openFiles(pid) });
  } catch {
    serverAlive = false;
  }
};
sample();
const start = samples[0];
const sampler = setInterval(sample, 1000);

// The server's log: only info and warn lines are expected; anything else
// (an error, an uncaught exception's text) fails the run.
const logProblems: string[] = [];
const readLogs = () => {
  for (const line of server.logs.splice(0)) {
    if (typeof line === "string") logProblems.push(line);
    else if (line.level === "error") logProblems.push(JSON.stringify(line));
  }
};

const readers = new LineProcess("./soak_readers.ts", [
  example.url,
  String(readerCount),
]);
await readers.expect("ready");

let running = true;
const healths = ["Healthy", "Degraded", "Unhealthy"];

async function events(): Promise<void> {
  for (let write = 0; running; write++) {
    await replaceFile(
      `${dir}/soak.json`,
      personaList(perWrite, { namespace: "soak", health: healths[write % 3] }),
    );
    await sleep(250);
  }
}

// Twenty connections a second: upgrade, subscribe, read the answer, leave
// (half with a close handshake, half without).
async function churn(): Promise<void> {
  const subscribe = encoder.encode(
    JSON.stringify({ type: "subscribe", topic: "personas", requestId: "c" }),
  );
  while (running) {
    await Promise.all(Array.from({ length: 5 }, async (_, i) => {
      try {
        const { socket, status } = await RawSocket.connect(port);
        if (status !== 101) {
          count(`churn refused ${status}`);
          socket.close();
          return;
        }
        await socket.sendFrame(OPCODE.text, subscribe);
        await socket.readMessage();
        if (i % 2 === 0) {
          await socket.write(
            clientFrame(OPCODE.close, new Uint8Array([0x03, 0xe8])),
          );
          await socket.drain();
        }
        socket.close();
        count("churned connections");
      } catch {
        // Evicted during a slow-loris flood, say: the server's right.
        count("churn connections cut");
      }
    }));
    await sleep(250);
  }
}

// Subscribers that never read, replaced every 15 s.
async function stalledReaders(): Promise<void> {
  const subscribe = JSON.stringify({
    type: "subscribe",
    topic: "personas",
    requestId: "stalled",
  });
  while (running) {
    const sockets = await openSockets(port, 20).catch(() => []);
    for (const socket of sockets) await socket.sendText(subscribe);
    count("stalled readers", sockets.length);
    for (let waited = 0; running && waited < 15_000; waited += 500) {
      await sleep(500);
    }
    for (const socket of sockets) socket.close();
  }
}

async function pipeline(): Promise<void> {
  const total = 5000;
  const { socket } = await RawSocket.connect(port);
  await socket.write(pipelinedRequests(total, "soak"));
  let answered = 0;
  for (let i = 0; i < total; i++) {
    const reply = await socket.readJson();
    if (reply === null) break;
    check(reply.requestId === `soak${i}`, `pipeline: reply ${i} out of order`);
    check(
      reply.type === "response" || reply.payload?.code === "rate_limited",
      `pipeline: reply ${i} was ${JSON.stringify(reply).slice(0, 200)}`,
    );
    answered++;
  }
  check(answered === total, `pipeline: ${answered} of ${total} replies`);
  socket.close();
  count("pipelined requests", answered);
}

async function pings(): Promise<void> {
  const burst = pingBurst(20_000);
  const sockets = await openSockets(port, 10);
  const reading = sockets.slice(0, 5).map(async (socket) => {
    while ((await socket.readFrame())?.opcode === OPCODE.pong) count("pongs");
  });
  await Promise.all(sockets.map((s) => s.write(burst).catch(() => {})));
  count("pings", 20_000 * sockets.length);
  await sleep(1000);
  for (const socket of sockets) socket.close();
  await Promise.all(reading);
}

async function slowLoris(): Promise<void> {
  const held = await unfinishedRequests(port, 300);
  count("slow-loris sockets", held.length);
  await sleep(4000);
  for (const conn of held) conn.close();
}

async function violations(): Promise<void> {
  await Promise.all(FRAMING_VIOLATIONS.map(async ([what, bytes, code]) => {
    const { socket } = await RawSocket.connect(port);
    await socket.write(bytes);
    const { closeCode } = await socket.drain();
    check(closeCode === code, `${what}: closed with ${closeCode}, not ${code}`);
    socket.close();
  }));
  count("framing violations", FRAMING_VIOLATIONS.length);
}

async function bigRepliesUnread(): Promise<void> {
  const { socket } = await RawSocket.connect(port);
  for (let i = 0; i < 40; i++) {
    await socket.sendText(JSON.stringify({
      type: "request",
      topic: "events",
      requestId: `big${i}`,
      payload: { limit: 10000 },
    }));
  }
  count("unread big requests", 40);
  // The write timeout (3 s) and the closing grace (2 s) pass.
  await sleep(6000);
  socket.close();
}

async function endlessMessages(): Promise<void> {
  const fragment = new Uint8Array(60 * 1024).fill(0x20);
  const sockets = await openSockets(port, 8);
  await Promise.all(sockets.map(async (socket) => {
    await socket.write(clientFrame(OPCODE.text, fragment, { fin: false }));
    for (let i = 1; i < 8; i++) {
      await socket.write(
        clientFrame(OPCODE.continuation, fragment, { fin: false }),
      );
    }
    const { closeCode } = await socket.drain();
    check(closeCode === 1008, `an endless message: closed with ${closeCode}`);
    socket.close();
  }));
  count("endless messages", sockets.length);
}

async function halfHeads(): Promise<void> {
  const head = `GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nx-pad: ${
    "y".repeat(15 * 1024)
  }\r\n`;
  const held = await Promise.all(Array.from({ length: 50 }, async () => {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port });
    await conn.write(encoder.encode(head));
    return conn;
  }));
  const tooMany = await exchange(
    port,
    `GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n${"x: y\r\n".repeat(101)}\r\n`,
  );
  check(
    tooMany.response.startsWith("HTTP/1.1 431"),
    "101 header fields: not 431",
  );
  count("half-sent 15 KiB heads", held.length);
  await sleep(4000);
  for (const conn of held) conn.close();
}

async function metricsUnread(): Promise<void> {
  const request = encoder.encode(
    "GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".repeat(3000),
  );
  const held = await Promise.all(Array.from({ length: 2 }, async () => {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port });
    conn.write(request).catch(() => {});
    return conn;
  }));
  count("unread /metrics pipelines", held.length);
  await sleep(6000);
  for (const conn of held) conn.close();
}

const FLOODS: [string, () => Promise<void>][] = [
  ["pipeline", pipeline],
  ["pings", pings],
  ["slow-loris", slowLoris],
  ["violations", violations],
  ["big replies unread", bigRepliesUnread],
  ["endless messages", endlessMessages],
  ["half heads", halfHeads],
  ["metrics unread", metricsUnread],
];

async function floods(): Promise<void> {
  for (let i = 0; running; i++) {
    const [name, flood] = FLOODS[i % FLOODS.length];
    try {
      await flood();
    } catch (error) {
      failures.push(`${name}: ${(error as Error).message}`);
    }
    readLogs();
    await sleep(1000);
  }
}

const activities = [events(), churn(), stalledReaders(), floods()];
while (elapsed() < durationMs && serverAlive) {
  await sleep(1000);
  readLogs();
}
running = false;
await Promise.all(activities);
const loadEnd = samples.length;

// Every event published must reach every prompt reader.
const published = await readMetric(
  port,
  'dorgu_ws_events_published_total{topic="personas"}',
);
let states: ReaderState[] = [];
for (let tries = 0; tries < 40; tries++) {
  await readers.send("report");
  states = JSON.parse(await readers.expect("result"));
  if (states.every((s) => s.last >= published || s.ended)) break;
  await sleep(250);
}
await readers.stop();
const lost = states.reduce(
  (n, s) => n + Math.max(0, published - s.from - s.received),
  0,
);
const delivered = states.reduce((n, s) => n + s.received, 0);
check(lost === 0, `prompt readers lost ${lost} events`);
check(
  states.every((s) => !s.ended),
  `${states.filter((s) => s.ended).length} prompt readers were disconnected`,
);

// Then, with every client gone, descriptors must be back where they were.
await sleep(5000);
sample();
clearInterval(sampler);
readLogs();
const after = samples[samples.length - 1];
await server.stop();
await Deno.remove(dir, { recursive: true }).catch(() => {});

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? NaN;
}
const loadSamples = samples.slice(0, loadEnd);
const warm = median(
  loadSamples.filter((s) => s.at > warmupMs - WINDOW_MS && s.at <= warmupMs)
    .map((s) => s.rss),
);
const lastAt = loadSamples[loadSamples.length - 1].at;
const end = median(
  loadSamples.filter((s) => s.at > lastAt - WINDOW_MS).map((s) => s.rss),
);
const peak = loadSamples.reduce((a, b) => b.rss > a.rss ? b : a);
const peakFiles = Math.max(...loadSamples.map((s) => s.files));
const growthLimit = Math.max(24 * MiB, 0.15 * warm);
check(serverAlive, "the server exited");
check(
  end - warm <= growthLimit,
  `RSS grew by ${mib(end - warm)} MiB (limit ${mib(growthLimit)} MiB)`,
);
check(
  after.files <= start.files + 2,
  `${after.files - start.files} descriptors leaked`,
);
for (const line of logProblems.slice(0, 5)) {
  failures.push(`server wrote: ${line.slice(0, 300)}`);
}

const seconds = (ms: number) => `${Math.round(ms / 1000)} s`;
console.log(`soak, ${minutes} min, load average ${loadAtStart} -> ${load()}`);
console.log(
  `RSS MiB: start ${mib(start.rss)}, after warm-up ${mib(warm)}, peak ${
    mib(peak.rss)
  } (at ${seconds(peak.at)}), end ${mib(end)} (growth ${
    mib(end - warm)
  }, limit ${mib(growthLimit)}), all clients gone ${mib(after.rss)}`,
);
console.log(
  `open descriptors: start ${start.files}, peak ${peakFiles}, end ${
    loadSamples[loadSamples.length - 1].files
  }, all clients gone ${after.files}`,
);
console.log(
  `RSS MiB every 30 s: ${
    loadSamples.filter((_, i) => i % 30 === 0).map((s) => mib(s.rss)).join(
      " ",
    )
  }`,
);
console.log(
  `events: ${published} published, ${delivered} delivered to ${states.length} prompt readers, ${lost} lost`,
);
console.log(
  `load: ${[...counts].map(([what, n]) => `${n} ${what}`).join(", ")}`,
);
if (failures.length > 0) {
  console.log(`FAIL:\n  ${failures.join("\n  ")}`);
  Deno.exit(1);
}
console.log("PASS");
Deno.exit(0);
