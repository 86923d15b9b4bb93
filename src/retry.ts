/**
 * Retrying: capped exponential backoff with jitter, a `Retry-After` reader,
 * and a delay that an abort signal cuts short. The Kubernetes informers and
 * the client's watch share them, so both retry the same way.
 *
 * @module
 */

/** Options for {@link Backoff}. */
export interface BackoffOptions {
  /** The first delay in ms, before jitter. */
  initialMs: number;
  /** The largest delay in ms, before jitter. */
  maxMs: number;
  /** A number in [0, 1); `Math.random` by default. Tests pin it. */
  random?: () => number;
}

/**
 * Delays between attempts: the first failure waits about `initialMs`, each
 * further one twice as long, up to `maxMs`. Half of each delay is fixed and
 * half random, so many clients failing together (a fleet of replicas when
 * an API server restarts) spread their retries instead of arriving in
 * lockstep. {@link Backoff.reset} starts over once the peer has proven
 * healthy again.
 */
export class Backoff {
  #options: BackoffOptions;
  #failures = 0;

  /** Creates a backoff that has seen no failures. */
  constructor(options: BackoffOptions) {
    this.#options = options;
  }

  /** Failures since the last reset. */
  get failures(): number {
    return this.#failures;
  }

  /** Counts one more failure and returns how long to wait before retrying. */
  next(): number {
    const { initialMs, maxMs } = this.#options;
    const base = Math.min(maxMs, initialMs * 2 ** Math.min(this.#failures, 30));
    this.#failures++;
    const random = this.#options.random ?? Math.random;
    return base / 2 + random() * (base / 2);
  }

  /** Forgets past failures: the next delay is the first one again. */
  reset(): void {
    this.#failures = 0;
  }
}

/**
 * Milliseconds a `Retry-After` header asks for (seconds, or an HTTP date),
 * at most `maxMs`; undefined when the header is absent or unreadable.
 */
export function retryAfterMs(
  header: string | null | undefined,
  options: { maxMs: number; now?: number },
): number | undefined {
  if (header === null || header === undefined) return undefined;
  const text = header.trim();
  let ms: number;
  if (/^\d+$/.test(text)) {
    ms = Number(text) * 1000;
  } else {
    // Only the HTTP-date form: Date.parse would read "-5" as a year.
    if (!/^[A-Za-z]{3}, /.test(text)) return undefined;
    const at = Date.parse(text);
    if (Number.isNaN(at)) return undefined;
    ms = at - (options.now ?? Date.now());
  }
  return Math.min(options.maxMs, Math.max(0, ms));
}

/** Resolves after `ms`, or at once when `signal` aborts (never rejects). */
export function delay(ms: number, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const wake = () => {
      clearTimeout(timer);
      signal?.removeEventListener("abort", wake);
      resolve();
    };
    const timer = setTimeout(wake, ms);
    signal?.addEventListener("abort", wake, { once: true });
  });
}
