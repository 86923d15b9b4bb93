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
import { FakeConn, parseFrames, settle } from "./support/fake_conn.ts";

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

function writer(
  conn: FakeConn | LazyConn,
  batches: BatchPool,
  pacer = new WritePacer(Infinity),
): Writer {
  return new Writer(conn.conn, {
    maxMessages: 1000,
    maxBytes: 1 << 20,
    clock: () => 0,
    onProgress() {},
    onIdle() {},
    onLastSent() {},
    onFailed() {},
    pacer,
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

/**
 * A socket whose kernel takes a write's bytes only when the test completes
 * it (a real write waiting for room reads its buffer then, not when it was
 * started), a random part of them.
 */
class LazyConn {
  out: Uint8Array[] = [];
  #waiting: { bytes: Uint8Array; resolve(n: number): void }[] = [];
  #random: () => number;

  constructor(random: () => number) {
    this.#random = random;
  }

  get conn(): Deno.Conn {
    return this as unknown as Deno.Conn;
  }

  write(bytes: Uint8Array): Promise<number> {
    return new Promise((resolve) => this.#waiting.push({ bytes, resolve }));
  }

  complete(): boolean {
    const write = this.#waiting.shift();
    if (!write) return false;
    const whole = this.#random() < 0.5;
    const taken = whole
      ? write.bytes.length
      : 1 + Math.floor(this.#random() * write.bytes.length);
    this.out.push(write.bytes.slice(0, taken));
    write.resolve(taken);
    return true;
  }

  texts(): string[] {
    const all = new Uint8Array(this.out.reduce((n, c) => n + c.length, 0));
    let at = 0;
    for (const chunk of this.out) {
      all.set(chunk, at);
      at += chunk.length;
    }
    return parseFrames(all).filter((f) => f.opcode === OPCODE.text)
      .map((f) => new TextDecoder().decode(f.payload));
  }
}

Deno.test("batch pool: writers sharing it, whose writes complete late, in pieces and in any order, each send exactly their own frames", async () => {
  let seed = 20_261_206;
  const random = () => (seed = (seed * 1_103_515_245 + 12_345) >>> 0) / 2 ** 32;
  const pool = new BatchPool();
  const pacer = new WritePacer(5);
  const conns = Array.from({ length: 12 }, () => new LazyConn(random));
  const writers = conns.map((conn) => writer(conn, pool, pacer));
  const sent: string[][] = conns.map(() => []);
  for (let step = 0; step < 12_000; step++) {
    const i = Math.floor(random() * conns.length);
    if (random() < 0.5) {
      const text = `client ${i} event ${sent[i].length} ` +
        "x".repeat(Math.floor(random() * 3000));
      sent[i].push(text);
      writers[i].offer(encodeText(text), "event", 0);
    } else {
      conns[i].complete();
    }
    await (step % 50 === 0 ? settle(1) : Promise.resolve());
  }
  for (let round = 0; conns.some((c) => c.complete()) || round < 3; round++) {
    for (const conn of conns) while (conn.complete());
    await settle(1);
  }
  assert.ok(pool.freeBytes > 0, "batches were joined and given back");
  for (const [i, conn] of conns.entries()) {
    assert.deepEqual(conn.texts(), sent[i], `client ${i}'s stream`);
  }
});
