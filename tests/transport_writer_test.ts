/**
 * The writer, through its connection, over a scripted fake socket: writes
 * the kernel takes a few bytes at a time, writes that wait, frames joined
 * into batches, progress pings and the window they keep, the close frame
 * last.
 */
import assert from "node:assert/strict";
import { encodeText, OPCODE } from "../src/transport/frames.ts";
import {
  MARK_AFTER,
  MAX_UNANSWERED,
  WINDOW,
} from "../src/transport/progress.ts";
import { kinds, settle, type WrittenFrame } from "./support/fake_conn.ts";
import { clientFrame, fakeSocket, LIMITS } from "./support/fake_socket.ts";

const decoder = new TextDecoder();
const texts = (frames: WrittenFrame[]) =>
  frames.filter((f) => f.opcode === OPCODE.text).map((f) =>
    decoder.decode(f.payload)
  );

Deno.test("writer: writes the kernel takes 7 bytes at a time deliver every frame whole and in order", async () => {
  const t = fakeSocket();
  t.fake.writes = { partial: 7 };
  const sent = Array.from(
    { length: 50 },
    (_, i) => `m${i} ${"x".repeat(i * 37)}`,
  );
  for (const text of sent) t.socket.send(encodeText(text), "event");
  t.socket.close("shutdown", { code: 1001, reason: "bye", flush: true });
  await settle();
  const frames = t.fake.frames();
  assert.deepEqual(texts(frames), sent);
  assert.equal(kinds(frames).at(-1), "close");
  assert.ok(t.fake.writeCalls.every((n) => n > 0));
});

Deno.test("writer: frames queued while a write waits go out joined, after it", async () => {
  const t = fakeSocket();
  t.fake.writes = "hang";
  for (let i = 0; i < 100; i++) t.socket.send(encodeText(`e${i}`), "event");
  await settle();
  assert.equal(t.fake.writeCalls.length, 1, "one write out");
  t.fake.writes = "all";
  t.fake.flush();
  await settle();
  assert.equal(t.fake.writeCalls.length, 2, "the other 99 in one write");
  assert.deepEqual(
    texts(t.fake.frames()),
    Array.from({ length: 100 }, (_, i) => `e${i}`),
  );
});

Deno.test("writer: a client that has caught up gets no progress ping after a large message", async () => {
  // Issue 19, defect 2: a ping followed every write of 32 KiB or more,
  // even with nothing else queued: one per large message, to every client.
  const t = fakeSocket();
  t.socket.send(encodeText("r".repeat(40 * 1024)), "reply");
  await settle();
  t.socket.send(encodeText("r".repeat(100 * 1024)), "reply");
  await settle();
  assert.deepEqual(kinds(t.fake.frames()), ["text", "text"]);
});

Deno.test("writer: a client that keeps up gets one progress ping per 256 KiB", async () => {
  const t = fakeSocket();
  const event = encodeText("e".repeat(4000));
  let pings = 0;
  for (let i = 0; i < 300; i++) {
    t.socket.send(event, "event", t.clock.now);
    await settle(1);
    for (const frame of t.fake.frames()) {
      if (frame.opcode !== OPCODE.ping) continue;
      pings++;
      t.fake.send(clientFrame(OPCODE.pong, frame.payload));
    }
    t.fake.clearWritten();
  }
  // 1.2 MB written: a ping at every 256 KiB unproven, each answered at once.
  assert.equal(pings, Math.floor((300 * event.length) / MARK_AFTER));
});

Deno.test("writer: a client that answers is held to the window; its pong lets data go on; silence is the write timeout", async () => {
  const t = fakeSocket({
    sendBufferMessages: 100_000,
    sendBufferBytes: 1 << 30,
  });
  const event = encodeText("e".repeat(4000));
  // Everything the kernel takes at once; the client answers the first
  // progress ping, then reads nothing more.
  for (let i = 0; i < 100; i++) t.socket.send(event, "event", t.clock.now);
  await settle();
  const first = t.fake.frames().find((f) => f.opcode === OPCODE.ping);
  assert.ok(first, "a progress ping after 256 KiB");
  t.fake.send(clientFrame(OPCODE.pong, first.payload));
  await settle();
  for (let i = 0; i < 300; i++) t.socket.send(event, "event", t.clock.now);
  await settle();
  const written = t.fake.written.length;
  assert.ok(
    written < MARK_AFTER + WINDOW + 70 * 1024,
    `${written} bytes written`,
  );
  assert.ok(t.socket.queuedBytes > 0, "the rest waits in the queue");
  // Its next pong lets more go out.
  const marks = t.fake.frames().filter((f) => f.opcode === OPCODE.ping);
  t.fake.send(clientFrame(OPCODE.pong, marks[1].payload));
  await settle();
  assert.ok(t.fake.written.length > written, "more went out after the pong");
  // Then nothing: held data waits for a pong for the write timeout.
  t.socket.tick(t.clock.advance(LIMITS.writeTimeoutMs));
  assert.deepEqual(t.closes.map((c) => [c.cause, c.code]), [[
    "write_timeout",
    1008,
  ]]);
  await settle();
  assert.equal(kinds(t.fake.frames()).at(-1), "close", "the close is not held");
});

Deno.test("writer: a client that never answers a progress ping is not held back", async () => {
  const t = fakeSocket({
    sendBufferMessages: 100_000,
    sendBufferBytes: 1 << 30,
  });
  const event = encodeText("e".repeat(4000));
  for (let i = 0; i < 400; i++) t.socket.send(event, "event", t.clock.now);
  await settle();
  assert.equal(texts(t.fake.frames()).length, 400);
  assert.equal(t.socket.queuedBytes, 0);
});

Deno.test("writer: a client that reads but never answers progress pings is sent a bounded number of them; an answer lets them go on", async () => {
  // It keeps itself heard with pings of its own, so no timeout ends it.
  // Each unanswered progress ping is remembered until it is answered: one
  // per 32 KiB it was sent, for as long as it stays, without bound.
  const t = fakeSocket({
    sendBufferMessages: 100_000,
    sendBufferBytes: 1 << 30,
  });
  const event = encodeText("e".repeat(32 * 1024 - 4));
  const marks: WrittenFrame[] = [];
  let pongs = 0;
  const stream = async (events: number) => {
    for (let i = 0; i < events; i++) {
      t.socket.send(event, "event", t.clock.now);
      if (i % 64 === 0) t.fake.send(clientFrame(OPCODE.ping, new Uint8Array()));
      await settle(1);
      for (const frame of t.fake.frames()) {
        if (frame.opcode === OPCODE.ping) marks.push(frame);
        if (frame.opcode === OPCODE.pong) pongs++;
      }
      t.fake.clearWritten();
    }
  };
  // 40 MiB: a progress ping per 32 KiB would be 1,280.
  await stream(1280);
  assert.ok(pongs > 0, "its own pings are answered");
  assert.ok(marks.length >= 64, `${marks.length} progress pings`);
  assert.ok(
    marks.length <= MAX_UNANSWERED,
    `${marks.length} progress pings left unanswered`,
  );
  assert.equal(t.closes.length, 0, "it stays");
  // It answers the latest: it has read that far, and the pings go on.
  t.fake.send(clientFrame(OPCODE.pong, marks.at(-1)!.payload));
  await settle();
  const before = marks.length;
  await stream(64);
  assert.ok(marks.length > before, "progress pings again after an answer");
});

Deno.test("writer: pongs and the keepalive ping go ahead of a long queue, and nothing after the close frame", async () => {
  const t = fakeSocket({ writeTimeoutMs: 5 * LIMITS.pingIntervalMs });
  t.fake.writes = "hang";
  for (let i = 0; i < 20; i++) t.socket.send(encodeText(`e${i}`), "event");
  t.fake.send(clientFrame(OPCODE.ping, "p"));
  await settle();
  t.socket.tick(t.clock.advance(LIMITS.pingIntervalMs));
  t.fake.writes = "all";
  t.fake.flush();
  await settle();
  assert.deepEqual(kinds(t.fake.frames()).slice(0, 4), [
    "text",
    "pong",
    "ping",
    "text",
  ]);
  t.socket.close("shutdown", { code: 1001, reason: "bye" });
  t.fake.send(clientFrame(OPCODE.ping, "late"));
  t.socket.send(encodeText("late"), "reply");
  await settle();
  assert.equal(kinds(t.fake.frames()).at(-1), "close");
});
