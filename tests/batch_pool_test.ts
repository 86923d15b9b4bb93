/**
 * Batch buffers used again: a batch comes back to the pool only once its
 * write has completed whole, never while a write may still read it, and
 * never a frame the pool did not make.
 */
import assert from "node:assert/strict";
import {
  BatchPool,
  KEEP_BYTES,
  MAX_BATCH,
} from "../src/transport/batch_pool.ts";
import { encodeText, OPCODE } from "../src/transport/frames.ts";
import { WritePacer } from "../src/transport/write_pacer.ts";
import { Writer } from "../src/transport/writer.ts";
import { FakeConn, settle } from "./support/fake_conn.ts";

Deno.test("batch pool: a batch given back is the next one of its size; one still out never is", () => {
  const pool = new BatchPool();
  const first = pool.take(3000);
  assert.equal(first.length, 3000);
  assert.equal(first.buffer.byteLength, 4096, "sizes are powers of two");
  const second = pool.take(2500);
  assert.notEqual(second.buffer, first.buffer, "taken twice, two buffers");
  pool.give(first);
  assert.equal(pool.freeBytes, 4096);
  const third = pool.take(4000);
  assert.equal(third.buffer, first.buffer, "reused");
  assert.equal(pool.take(4000).buffer === second.buffer, false);
  assert.equal(pool.take(100).buffer.byteLength, 1024);
  assert.equal(pool.take(MAX_BATCH).buffer.byteLength, MAX_BATCH);
});

Deno.test("batch pool: frames it did not make are not taken, and it keeps at most KEEP_BYTES", () => {
  const pool = new BatchPool();
  pool.give(new Uint8Array(4096));
  pool.give(encodeText("an event frame shared by every subscriber"));
  assert.equal(pool.freeBytes, 0);
  const out = Array.from(
    { length: KEEP_BYTES / MAX_BATCH + 10 },
    () => pool.take(MAX_BATCH),
  );
  for (const batch of out) pool.give(batch);
  assert.equal(pool.freeBytes, KEEP_BYTES);
});

function writer(conn: FakeConn, batches: BatchPool): Writer {
  return new Writer(conn.conn, {
    maxMessages: 1000,
    maxBytes: 1 << 20,
    clock: () => 0,
    onProgress() {},
    onIdle() {},
    onLastSent() {},
    onFailed() {},
    pacer: new WritePacer(Infinity),
    batches,
  });
}

Deno.test("batch pool: a writer gives its batch back once the write is whole, and the bytes are the frames'", async () => {
  const pool = new BatchPool();
  const conn = new FakeConn();
  const w = writer(conn, pool);
  conn.writes = "hang";
  const texts = Array.from({ length: 30 }, (_, i) => `event ${i}`);
  w.offer(encodeText(texts[0]), "event", 0);
  for (const text of texts.slice(1, 10)) w.offer(encodeText(text), "event", 0);
  conn.flush(); // the first frame, alone
  await settle();
  assert.equal(pool.freeBytes, 0, "the joined batch is still being written");
  for (const text of texts.slice(10)) w.offer(encodeText(text), "event", 0);
  conn.flush(); // the batch of nine, given back; the next batch goes out
  await settle();
  assert.equal(pool.freeBytes, 0, "its buffer serves the next batch");
  conn.writes = "all";
  conn.flush();
  await settle();
  assert.equal(pool.freeBytes, 1024, "one buffer served both, and is back");
  const written = conn.frames().filter((f) => f.opcode === OPCODE.text)
    .map((f) => new TextDecoder().decode(f.payload));
  assert.deepEqual(written, texts);
});

Deno.test("batch pool: a batch whose write never completed is never given back", async () => {
  const pool = new BatchPool();
  const conn = new FakeConn();
  const w = writer(conn, pool);
  conn.writes = "hang";
  for (let i = 0; i < 10; i++) w.offer(encodeText(`e${i}`), "event", 0);
  conn.flush();
  await settle();
  assert.ok(conn.writeWaiting, "the batch's write is out");
  w.stop();
  conn.flush();
  await settle();
  assert.equal(pool.freeBytes, 0);
});
