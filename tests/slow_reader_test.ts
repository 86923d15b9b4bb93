/**
 * A client that reads steadily but slower than its stream loses events,
 * never its connection, for as long as it keeps reading (issue 19, defect
 * 1). The real server, a real TCP client over loopback, and longer than the
 * read timeout: the kernel's buffers hold megabytes, so a ping queued
 * behind them reaches such a client long after the server would have
 * given up on it, unless the server keeps little in flight.
 *
 * The run, scaled: there 400 events/s of ~250 bytes to a client
 * reading 4 KiB every 100 ms with the 60 s read timeout; here 400 events/s
 * of ~1 KB to one reading 16 KiB every 100 ms, with a 6 s read timeout.
 */
import assert from "node:assert/strict";
import { OPCODE } from "../src/transport/frames.ts";
import { RawSocket } from "./support/raw_ws.ts";
import { copyExamples, delay, startTestServer } from "./support/server.ts";

const READ_TIMEOUT_MS = 6000;
const RUN_MS = 2.5 * READ_TIMEOUT_MS;
// Bytes the client takes per millisecond: 160 KB/s.
const READ_RATE = 160;

interface Reading {
  pings: number;
  firstPingMs: number | undefined;
  ended: "eof" | number | undefined;
  offsets: number[];
  replies: string[];
}

/** Reads at READ_RATE, answering every ping at once, until `stop()`. */
function readSlowly(socket: RawSocket): {
  reading: Reading;
  done: Promise<void>;
  stop(): void;
} {
  const reading: Reading = {
    pings: 0,
    firstPingMs: undefined,
    ended: undefined,
    offsets: [],
    replies: [],
  };
  let stopped = false;
  const started = Date.now();
  let bytes = 0;
  const decoder = new TextDecoder();
  const done = (async () => {
    while (!stopped) {
      const frame = await socket.readFrame(16 * 1024);
      if (frame === null) {
        reading.ended = "eof";
        return;
      }
      bytes += frame.payload.length + 2;
      if (frame.opcode === OPCODE.ping) {
        reading.pings++;
        reading.firstPingMs ??= Date.now() - started;
        await socket.sendFrame(OPCODE.pong, frame.payload);
      } else if (frame.opcode === OPCODE.close) {
        reading.ended = (frame.payload[0] << 8) | frame.payload[1];
        return;
      } else if (frame.opcode === OPCODE.text) {
        const message = JSON.parse(decoder.decode(frame.payload));
        if (message.type === "event") reading.offsets.push(message.offset);
        else reading.replies.push(message.requestId);
      }
      const due = started + bytes / READ_RATE;
      if (due > Date.now()) await delay(due - Date.now());
    }
  })();
  return { reading, done, stop: () => stopped = true };
}

async function slowReaderRun(options: { askWhileBehind: boolean }) {
  const dir = await copyExamples();
  const server = await startTestServer({
    source: dir,
    readTimeoutMs: READ_TIMEOUT_MS,
  });
  await using _ = server;
  const { socket } = await RawSocket.connect(server.port);
  await socket.sendText(
    JSON.stringify({ type: "subscribe", topic: "events", requestId: "s" }),
  );
  const reader = readSlowly(socket);
  const started = Date.now();
  let published = 0;
  let asked = false;
  while (Date.now() - started < RUN_MS && reader.reading.ended === undefined) {
    // 400 events/s of about 1 KB: 2.5 times what the client reads.
    for (let i = 0; i < 4; i++) {
      server.hub.publish("events", {
        kind: "kubernetes",
        namespace: "prod",
        name: `e${published}`,
        type: "Normal",
        reason: "Steady",
        message: "m".repeat(800),
        involvedObject: { kind: "Pod", namespace: "prod", name: "p" },
        count: published++,
        lastTimestamp: "",
      }, { namespace: "prod", name: `e${published}` });
    }
    if (options.askWhileBehind && !asked && Date.now() - started > 2000) {
      asked = true;
      await socket.sendText(JSON.stringify({
        type: "request",
        topic: "cluster",
        requestId: "while-behind",
      }));
    }
    await delay(10);
  }
  const { reading } = reader;
  assert.equal(
    reading.ended,
    undefined,
    `the connection ended (${reading.ended}) after ${
      Date.now() - started
    } ms; ${reading.pings} pings, the first at ${reading.firstPingMs} ms`,
  );
  // Its pong answered it before the read timeout could fire.
  assert.ok(
    reading.firstPingMs !== undefined && reading.firstPingMs < READ_TIMEOUT_MS,
    `the first ping came at ${reading.firstPingMs} ms`,
  );
  const gaps = reading.offsets.filter((o, i) =>
    i > 0 && o !== reading.offsets[i - 1] + 1
  );
  assert.ok(gaps.length > 0, "it kept up: the run proves nothing");
  assert.ok(reading.offsets.length > 1000, `${reading.offsets.length} events`);
  // It leaves as a client does, and hears the close back.
  reader.stop();
  await reader.done;
  await socket.sendFrame(OPCODE.close, new Uint8Array([0x03, 0xe8]));
  const { closeCode } = await socket.drain();
  assert.equal(closeCode, 1000);
  socket.close();
  console.log(
    `  ${reading.offsets.length} events, ${gaps.length} gaps, ${reading.pings} pings (first at ${reading.firstPingMs} ms), replies: ${reading.replies}`,
  );
  return reading;
}

Deno.test({
  name:
    "a slow, steady reader keeps its connection past the read timeout, losing events",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    await slowReaderRun({ askWhileBehind: false });
  },
});

Deno.test({
  name:
    "a slow, steady reader that sends a message while behind keeps its connection: its pongs are still read",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    await slowReaderRun({ askWhileBehind: true });
  },
});
