/**
 * Latency histograms for `/metrics`.
 *
 * @module
 */
/** A cumulative histogram with fixed bucket bounds, as Prometheus exposes. */
export class Histogram {
  /** Upper bounds of the buckets, ascending. */
  readonly bounds: readonly number[];
  /** Observations at or below each bound (not cumulative). */
  readonly counts: number[];
  /** Number of observations. */
  count = 0;
  /** Sum of observations. */
  sum = 0;

  /** Creates an empty histogram with the given ascending bucket bounds. */
  constructor(bounds: readonly number[]) {
    this.bounds = bounds;
    this.counts = new Array(bounds.length).fill(0);
  }

  /** Records one observation. */
  observe(value: number): void {
    this.count++;
    this.sum += value;
    const index = this.bounds.findIndex((bound) => value <= bound);
    if (index >= 0) this.counts[index]++;
  }
}

/** Bucket bounds in seconds for request latencies, 50 us to 1 s. */
export const LATENCY_BUCKETS: readonly number[] = [
  0.00005,
  0.0001,
  0.00025,
  0.0005,
  0.001,
  0.0025,
  0.005,
  0.01,
  0.025,
  0.1,
  1,
];
