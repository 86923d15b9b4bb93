/**
 * One WebSocket connection over a scripted fake socket with a hand-moved
 * clock: every state it can be in and every way out of it, reads split at
 * every byte, resets and EOF in the middle of a frame, writes that never
 * complete, and each timer.
 */
import assert from "node:assert/strict";
import { encodeText, OPCODE } from "../src/transport/frames.ts";
import { closeCodeOf, kinds, settle } from "./support/fake_conn.ts";
import {
  clientClose,
  clientFrame,
  fakeSocket,
  LIMITS,
} from "./support/fake_socket.ts";

const decoder = new TextDecoder();

Deno.test("connection: messages split at every byte arrive whole; pings are answered with their payload", async () => {
  const t = fakeSocket();
  t.fake.send(
    new Uint8Array([
      ...clientFrame(OPCODE.text, "h\u00e9llo", { fin: false }),
      ...clientFrame(OPCODE.ping, "are you there"),
      ...clientFrame(OPCODE.continuation, " w\u00f6rld"),
      ...clientFrame(OPCODE.binary, new Uint8Array(300)),
    ]),
    { split: 1 },
  );
  await settle();
  assert.deepEqual(t.texts, ["h\u00e9llo w\u00f6rld"]);
  assert.deepEqual(t.binaries, [300]);
  const frames = t.fake.frames();
  assert.deepEqual(kinds(frames), ["pong"]);
  assert.equal(decoder.decode(frames[0].payload), "are you there");
  assert.equal(t.socket.phase.name, "open");
});

Deno.test("connection: ten pings at once get ten pongs, in order; a flood gets at most 17 per write, the latest last", async () => {
  const t = fakeSocket();
  const pings = Array.from(
    { length: 10 },
    (_, i) => [...clientFrame(OPCODE.ping, `payload-${i}`)],
  ).flat();
  t.fake.send(new Uint8Array(pings));
  await settle();
  assert.deepEqual(
    t.fake.frames().map((f) => decoder.decode(f.payload)),
    Array.from({ length: 10 }, (_, i) => `payload-${i}`),
  );
  t.fake.clearWritten();
  t.fake.writes = "hang";
  const flood = Array.from(
    { length: 1000 },
    (_, i) => [...clientFrame(OPCODE.ping, `${i}`)],
  ).flat();
  t.fake.send(new Uint8Array(flood));
  await settle();
  t.fake.writes = "all";
  t.fake.flush();
  await settle();
  const answered = t.fake.frames().map((f) => decoder.decode(f.payload));
  assert.equal(answered.length, 17, "the first at once, then 16 waiting");
  assert.equal(answered[0], "0");
  assert.equal(answered.at(-1), "999");
});

Deno.test("connection: the client closes: its code is echoed, the owner hears its code and reason, it ends once the echo is out", async () => {
  const t = fakeSocket();
  t.fake.send(
    clientFrame(
      OPCODE.close,
      new Uint8Array([0x0f, 0xa0, ...new TextEncoder().encode("done")]),
    ),
    { split: 1 },
  );
  await settle();
  assert.deepEqual(t.closes, [{ cause: "client", code: 4000, reason: "done" }]);
  const frames = t.fake.frames();
  assert.deepEqual(kinds(frames), ["close"]);
  assert.equal(closeCodeOf(frames[0]), 4000);
  assert.equal(t.socket.phase.name, "closed");
  assert.ok(t.fake.closed);
  assert.equal(t.released, 1);
  // An empty close is answered with 1000; the owner hears 1005.
  const empty = fakeSocket();
  empty.fake.send(clientFrame(OPCODE.close));
  await settle();
  assert.deepEqual(empty.closes, [{ cause: "client", code: 1005, reason: "" }]);
  assert.equal(closeCodeOf(empty.fake.frames()[0]), 1000);
});

Deno.test("connection: the server closes: close frame, its stream ended, the peer's echo ends it; nothing sent after", async () => {
  const t = fakeSocket();
  t.socket.close("shutdown", { code: 1001, reason: "Going away." });
  assert.equal(t.socket.phase.name, "closing");
  assert.deepEqual(t.closes.map((c) => c.cause), ["shutdown"]);
  assert.equal(t.socket.send(encodeText("late"), "reply"), "closed");
  await settle();
  assert.ok(t.fake.writeClosed, "our side of the stream ended");
  assert.ok(!t.fake.closed, "waiting for the echo");
  t.fake.send(clientFrame(OPCODE.text, "dropped"));
  t.fake.send(clientClose(1001), { split: 1 });
  await settle();
  assert.deepEqual(t.texts, []);
  assert.deepEqual(kinds(t.fake.frames()), ["close"]);
  assert.equal(t.socket.phase.name, "closed");
  assert.ok(t.fake.closed);
  assert.equal(t.closes.length, 1, "told once");
});

Deno.test("connection: a closing handshake without an echo is cut at the grace, not before", async () => {
  const t = fakeSocket();
  t.socket.close("read_timeout", { code: 1001, reason: "Read timeout." });
  await settle();
  t.socket.tick(t.clock.advance(1999));
  assert.equal(t.socket.phase.name, "closing");
  t.socket.tick(t.clock.advance(1));
  assert.equal(t.socket.phase.name, "closed");
  assert.ok(t.fake.closed);
  assert.equal(t.released, 1);
});

Deno.test("connection: a reset in the middle of a frame, or EOF in the middle of a header, ends it with 1006", async () => {
  for (const end of ["reset", "eof"] as const) {
    const t = fakeSocket();
    const frame = clientFrame(OPCODE.text, "x".repeat(200));
    t.fake.send(frame.subarray(0, end === "reset" ? 50 : 3), { split: 1 });
    if (end === "reset") t.fake.reset();
    else t.fake.end();
    await settle();
    assert.deepEqual(t.closes, [
      { cause: "client_gone", code: 1006, reason: "" },
    ], end);
    assert.equal(t.socket.phase.name, "closed");
    assert.ok(t.fake.closed);
    assert.equal(t.released, 1);
  }
});

Deno.test("connection: a write that never completes: at the write timeout the queue is dropped and 1008 queued; the grace cuts it", async () => {
  const t = fakeSocket();
  t.fake.writes = "hang";
  t.socket.send(encodeText("first"), "event");
  for (let i = 0; i < 10; i++) t.socket.send(encodeText(`e${i}`), "event");
  assert.equal(t.socket.queuedBytes > 0, true);
  t.socket.tick(t.clock.advance(LIMITS.writeTimeoutMs - 1));
  assert.equal(t.socket.phase.name, "open");
  t.socket.tick(t.clock.advance(1));
  assert.deepEqual(t.closes.map((c) => [c.cause, c.code]), [[
    "write_timeout",
    1008,
  ]]);
  assert.equal(t.socket.queuedBytes, 0, "its queue is freed at once");
  await settle();
  t.socket.tick(t.clock.advance(2000));
  assert.equal(t.socket.phase.name, "closed");
  assert.ok(t.fake.closed);
});

Deno.test("connection: silence gets a ping at the ping interval and 1001 at the read timeout; anything heard starts it over", async () => {
  const t = fakeSocket();
  t.socket.tick(t.clock.advance(LIMITS.pingIntervalMs - 1));
  await settle();
  assert.deepEqual(kinds(t.fake.frames()), []);
  t.socket.tick(t.clock.advance(1));
  await settle();
  assert.deepEqual(kinds(t.fake.frames()), ["ping"]);
  t.socket.tick(t.clock.advance(1000));
  await settle();
  assert.deepEqual(kinds(t.fake.frames()), ["ping"], "one ping per interval");
  t.fake.send(clientFrame(OPCODE.pong));
  await settle();
  t.socket.tick(t.clock.advance(LIMITS.readTimeoutMs - 1));
  assert.equal(t.socket.phase.name, "open");
  t.socket.tick(t.clock.advance(1));
  assert.deepEqual(t.closes.map((c) => [c.cause, c.code]), [[
    "read_timeout",
    1001,
  ]]);
});

Deno.test("connection: a message not finished within the message timeout gets 1008, whatever pings keep coming", async () => {
  const t = fakeSocket();
  t.fake.send(clientFrame(OPCODE.text, "started", { fin: false }));
  await settle();
  for (let i = 0; i < 9; i++) {
    t.fake.send(clientFrame(OPCODE.ping));
    await settle();
    t.socket.tick(t.clock.advance(1000));
  }
  assert.equal(t.socket.phase.name, "open");
  t.socket.tick(t.clock.advance(1000));
  assert.deepEqual(t.closes.map((c) => [c.cause, c.code]), [[
    "message_timeout",
    1008,
  ]]);
});

Deno.test("connection: a violation closes with its code and reason and drops what is queued", async () => {
  const t = fakeSocket();
  t.fake.writes = "hang";
  t.socket.send(encodeText("in flight"), "event");
  t.socket.send(encodeText("queued"), "event");
  t.fake.send(encodeText("unmasked"));
  await settle();
  assert.deepEqual(t.closes, [{
    cause: "protocol_error",
    code: 1002,
    reason: "Client frames must be masked.",
  }]);
  t.fake.writes = "all";
  t.fake.flush();
  await settle();
  const frames = t.fake.frames();
  assert.deepEqual(kinds(frames), ["text", "close"]);
  assert.equal(decoder.decode(frames[0].payload), "in flight");
  assert.equal(closeCodeOf(frames[1]), 1002);
});

Deno.test("connection: while replies pile up, its ping is still answered and its close echoed", async () => {
  // Issue 19, defect 1: once a client's message left it backlogged, the
  // read hold stopped every read, so its pongs, pings and close went
  // unheard until its queue drained.
  const t = fakeSocket({ sendBufferBytes: 8192 });
  t.fake.writes = "hang";
  t.socket.handlers = {
    ...t.socket.handlers,
    text(socket, text) {
      t.texts.push(text);
      for (let i = 0; i < 8; i++) {
        socket.send(encodeText("r".repeat(1000)), "reply");
      }
    },
  };
  t.fake.send(
    new Uint8Array([
      ...clientFrame(OPCODE.text, "request"),
      ...clientFrame(OPCODE.ping, "still there?"),
      ...clientClose(1000),
    ]),
  );
  await settle();
  assert.deepEqual(t.texts, ["request"]);
  assert.deepEqual(t.closes.map((c) => c.cause), ["client"]);
  t.fake.writes = "all";
  t.fake.flush();
  await settle();
  const frames = t.fake.frames();
  assert.deepEqual(kinds(frames), ["text", "pong", "close"]);
  assert.equal(decoder.decode(frames[1].payload), "still there?");
  assert.equal(t.socket.phase.name, "closed");
});

Deno.test("connection: a held message is read once half the backlog has drained", async () => {
  const t = fakeSocket({ sendBufferBytes: 8192 });
  t.fake.writes = "hang";
  for (let i = 0; i < 8; i++) {
    t.socket.send(encodeText("r".repeat(1000)), "reply");
  }
  t.fake.send(clientFrame(OPCODE.text, "held"));
  await settle();
  assert.deepEqual(t.texts, []);
  t.fake.writes = "all";
  t.fake.flush();
  await settle();
  assert.deepEqual(t.texts, ["held"]);
});
