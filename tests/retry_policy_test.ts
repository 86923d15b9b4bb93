/**
 * The informer's retry policy with a pinned clock and random source: caps
 * that grow with the outage, the reset, and `Retry-After`.
 */
import assert from "node:assert/strict";
import { ApiError, RetryPolicy } from "../src/kube/mod.ts";

function policy(
  options: { random?: number; backoffMs?: [number, number] } = {},
) {
  const clock = { now: 0 };
  const retry = new RetryPolicy({
    backoffMs: options.backoffMs ?? [500, 30_000],
    random: () => options.random ?? 0,
    now: () => clock.now,
  });
  return { retry, clock };
}

function refusal(status: number, retryAfter?: string): ApiError {
  return new ApiError("try later", { status, reason: "Refused", retryAfter });
}

Deno.test("the cap grows with the outage: 1 s under 15 s, 5 s under two minutes, then the largest", () => {
  for (const random of [0, 1]) {
    const { retry, clock } = policy({ random });
    const delays: number[] = [];
    for (clock.now = 0; clock.now < 150_000; clock.now += 5000) {
      delays.push(retry.next());
    }
    // Bases 500, 1000 and the 1 s cap; from 15 s the count carries over
    // (4000, then the 5 s cap); from 120 s the 30 s cap. Half of each is
    // random.
    const bases = [500, 1000, 1000, 4000, ...Array(20).fill(5000)]
      .concat(Array(6).fill(30_000));
    assert.deepEqual(delays, bases.map((b) => b / 2 + random * b / 2));
  }
});

Deno.test("a reset forgets the failures and the outage's age", () => {
  const { retry, clock } = policy();
  for (clock.now = 0; clock.now <= 130_000; clock.now += 10_000) retry.next();
  assert.equal(retry.next(), 15_000);
  retry.reset();
  clock.now += 1000;
  assert.deepEqual([retry.next(), retry.next()], [250, 500]);
});

Deno.test("a largest delay below the caps wins", () => {
  const { retry, clock } = policy({ backoffMs: [10, 40], random: 1 });
  const delays = [0, 1, 2, 3].map(() => retry.next());
  clock.now = 300_000;
  delays.push(retry.next());
  assert.deepEqual(delays, [10, 20, 40, 40, 40]);
});

Deno.test("Retry-After on 429 and 503 is honoured when sooner, and up to the backoff (at least 1 s) when later", () => {
  const { retry, clock } = policy();
  // A young outage: the backoff would wait 250, then 500 ms.
  assert.equal(retry.next(refusal(503, "5")), 1000);
  assert.equal(retry.next(refusal(429, "0")), 100);
  // A long outage: the backoff waits 15 s.
  for (clock.now = 0; clock.now <= 200_000; clock.now += 10_000) retry.next();
  assert.equal(retry.next(), 15_000);
  assert.equal(retry.next(refusal(429, "1")), 1000);
  assert.equal(retry.next(refusal(503, "20")), 15_000);
  assert.equal(retry.next(refusal(503, "3")), 3000);
  // Other statuses, and refusals without the header, get the backoff.
  assert.equal(retry.next(refusal(500, "1")), 15_000);
  assert.equal(retry.next(refusal(429)), 15_000);
  assert.equal(retry.next(new Error("connection refused")), 15_000);
});

Deno.test("Retry-After keeps up to a quarter of jitter", () => {
  const { retry } = policy({ random: 1 });
  assert.equal(retry.next(refusal(429, "1")), 1250);
});
