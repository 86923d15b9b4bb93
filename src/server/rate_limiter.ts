/**
 * The rate limit on what one client sends: its inbound messages.
 *
 * @module
 */
/**
 * A token bucket: `burst` messages at once, then `rate` per second on
 * average. One per client, for its inbound messages.
 */
export class TokenBucket {
  #rate: number;
  #burst: number;
  #tokens: number;
  #refilledAt: number;

  /** A full bucket at time `now` (ms on a monotonic clock). */
  constructor(limits: { rate: number; burst: number }, now: number) {
    this.#rate = limits.rate;
    this.#burst = limits.burst;
    this.#tokens = limits.burst;
    this.#refilledAt = now;
  }

  /** Spends one token at time `now`; false when the bucket is empty. */
  take(now: number): boolean {
    const elapsed = Math.max(0, now - this.#refilledAt) / 1000;
    this.#refilledAt = now;
    this.#tokens = Math.min(this.#burst, this.#tokens + elapsed * this.#rate);
    if (this.#tokens < 1) return false;
    this.#tokens--;
    return true;
  }
}
