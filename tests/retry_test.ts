/**
 * Backoff, Retry-After and the abortable delay that the watches and the
 * client retry with.
 */
import assert from "node:assert/strict";
import { Backoff, delay, retryAfterMs } from "../src/retry.ts";

Deno.test("backoff doubles up to its cap, half fixed and half random", () => {
  const low = new Backoff({ initialMs: 500, maxMs: 4000, random: () => 0 });
  assert.deepEqual(
    Array.from({ length: 6 }, () => low.next()),
    [250, 500, 1000, 2000, 2000, 2000],
  );
  const high = new Backoff({ initialMs: 500, maxMs: 4000, random: () => 1 });
  assert.deepEqual([high.next(), high.next()], [500, 1000]);
});

Deno.test("backoff starts over after a reset", () => {
  const backoff = new Backoff({
    initialMs: 100,
    maxMs: 10_000,
    random: () => 0,
  });
  backoff.next();
  backoff.next();
  backoff.next();
  assert.equal(backoff.failures, 3);
  backoff.reset();
  assert.equal(backoff.failures, 0);
  assert.equal(backoff.next(), 50);
});

Deno.test("backoff never overflows after very many failures", () => {
  const backoff = new Backoff({
    initialMs: 500,
    maxMs: 30_000,
    random: () => 0,
  });
  for (let i = 0; i < 5000; i++) backoff.next();
  assert.equal(backoff.next(), 15_000);
});

Deno.test("Retry-After in seconds or as a date, bounded", () => {
  assert.equal(retryAfterMs("1", { maxMs: 10_000 }), 1000);
  assert.equal(retryAfterMs(" 3 ", { maxMs: 10_000 }), 3000);
  assert.equal(retryAfterMs("3600", { maxMs: 10_000 }), 10_000);
  const now = Date.parse("2026-01-01T00:00:00Z");
  assert.equal(
    retryAfterMs("Thu, 01 Jan 2026 00:00:02 GMT", { maxMs: 10_000, now }),
    2000,
  );
  assert.equal(
    retryAfterMs("Wed, 31 Dec 2025 00:00:00 GMT", { maxMs: 10_000, now }),
    0,
  );
  assert.equal(retryAfterMs(null, { maxMs: 10_000 }), undefined);
  assert.equal(retryAfterMs("soon", { maxMs: 10_000 }), undefined);
  assert.equal(retryAfterMs("-5", { maxMs: 10_000 }), undefined);
});

Deno.test("delay waits, and an abort cuts it short", async () => {
  const started = performance.now();
  await delay(30);
  assert.ok(performance.now() - started >= 25);
  const abort = new AbortController();
  const cut = performance.now();
  const waiting = delay(60_000, abort.signal);
  setTimeout(() => abort.abort(), 10);
  await waiting;
  assert.ok(performance.now() - cut < 5000);
  abort.abort();
  await delay(60_000, abort.signal);
});
