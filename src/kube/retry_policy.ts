/**
 * How long an informer waits before trying the API server again: the
 * shared {@link Backoff}, under a cap that grows with the outage, or what
 * the server itself asked for with `Retry-After`.
 *
 * @module
 */
import { Backoff, retryAfterMs } from "../retry.ts";
import { ApiError } from "./client.ts";

/**
 * The longest delay between tries while an outage is younger than
 * `untilMs`: a blip of a few seconds is caught within about a second and an
 * outage of a minute within a few, while a longer one backs off to the
 * largest delay, 15-30 s with jitter. A fleet of replicas therefore never
 * retries in lockstep, and spreads out further the longer the API server
 * stays away.
 */
export const OUTAGE_CAPS: readonly { untilMs: number; maxMs: number }[] = [
  { untilMs: 15_000, maxMs: 1000 },
  { untilMs: 120_000, maxMs: 5000 },
];

/** Options for {@link RetryPolicy}. */
export interface RetryPolicyOptions {
  /** First and largest delay in ms, before jitter. */
  backoffMs: [number, number];
  /** A number in [0, 1); `Math.random` by default. Tests pin it. */
  random?: () => number;
  /** The clock in ms; `Date.now` by default. */
  now?: () => number;
}

/**
 * Delays between tries for one informer. Every failure counts until
 * {@link RetryPolicy.reset}, which the informer calls once the API server
 * has proven healthy again; the outage's age, which picks the cap, runs
 * from the first failure after that.
 */
export class RetryPolicy {
  // One backoff per cap, all counting every failure, so moving to the next
  // cap as the outage ages continues where the count is.
  #backoffs: { untilMs: number; backoff: Backoff }[];
  #random: () => number;
  #now: () => number;
  #outageSince: number | undefined;

  /** Creates a policy that has seen no failures. */
  constructor(options: RetryPolicyOptions) {
    const [initialMs, largestMs] = options.backoffMs;
    this.#random = options.random ?? Math.random;
    this.#now = options.now ?? Date.now;
    this.#backoffs = [...OUTAGE_CAPS, { untilMs: Infinity, maxMs: largestMs }]
      .map(({ untilMs, maxMs }) => ({
        untilMs,
        backoff: new Backoff({
          initialMs,
          maxMs: Math.min(maxMs, largestMs),
          random: this.#random,
        }),
      }));
  }

  /** Forgets past failures: the connection has proven healthy. */
  reset(): void {
    this.#outageSince = undefined;
    for (const { backoff } of this.#backoffs) backoff.reset();
  }

  /**
   * Counts a failure and returns how long to wait before the next try: the
   * backoff's delay, unless `error` is a 429 or 503 with `Retry-After` (a
   * kube-apiserver sends 429 while its flow control sheds load or a watch
   * cache initializes, 503 while it starts or stops). That is honoured when
   * sooner than the backoff, and when later only up to the backoff's own
   * delay (or 1 s), so the 5 s a starting kube-apiserver asks for in the
   * fraction of a second before its routes are installed does not leave
   * the cache stale for 5 s.
   */
  next(error?: unknown): number {
    const now = this.#now();
    this.#outageSince ??= now;
    const age = now - this.#outageSince;
    let wait: number | undefined;
    for (const { untilMs, backoff } of this.#backoffs) {
      const next = backoff.next();
      if (wait === undefined && age < untilMs) wait = next;
    }
    const delay = wait as number;
    if (
      !(error instanceof ApiError) ||
      (error.status !== 429 && error.status !== 503)
    ) {
      return delay;
    }
    const asked = retryAfterMs(error.retryAfter, {
      maxMs: Math.max(delay, 1000),
      now,
    });
    if (asked === undefined) return delay;
    // A little jitter, so replicas told the same thing at the same moment
    // do not come back together.
    const base = Math.max(asked, 100);
    return base + this.#random() * base / 4;
  }
}
