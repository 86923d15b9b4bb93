/**
 * Memory under load: a server's RSS at rest with N idle subscribers, then
 * through a saturated fan-out (events published as fast as the server
 * goes) and for ten seconds after it stops: after the last message has
 * reached its client, since what the kernel and the server's queues hold
 * is still being delivered for a second or two after the last event is
 * published. RSS is read from /proc by the runner, so the server's own
 * event loop being busy does not delay it, and nothing in the server
 * allocates to answer it.
 *
 * @module
 */
import { rssOf } from "../tests/support/hostile.ts";
import {
  expectEach,
  type ServerKind,
  settledClients,
  withServer,
} from "./fanout.ts";
import type { LineProcess } from "./process.ts";

/** What {@link loadMemory} measured; RSS in bytes. */
export interface LoadMemoryResult {
  /** Median RSS over a second, every client connected and idle. */
  rest: number;
  /** Highest RSS while publishing. */
  peak: number;
  /** RSS when the last message had been delivered. */
  atStop: number;
  /** RSS ten seconds after that. */
  after: number;
  /** Milliseconds from the last event published to the last delivered. */
  drainMs: number;
  /**
   * Milliseconds from the stop until RSS was at most `limit` times rest
   * and stayed there (sampled every 100 ms); Infinity if it was above at
   * the end of the ten seconds.
   */
  fellBackMs: number;
  /** Events published. */
  published: number;
  /** Messages delivered, all clients together. */
  delivered: number;
}

const SETTLE_MS = 10_000;

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

async function sampleFor(
  pid: number,
  ms: number,
  everyMs: number,
): Promise<number[]> {
  const readings: number[] = [];
  for (const until = performance.now() + ms; performance.now() < until;) {
    readings.push(rssOf(pid));
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
  return readings;
}

async function delivered(clients: LineProcess[]): Promise<number> {
  const counts = await Promise.all(clients.map(async (client) => {
    await client.send("count");
    return Number(await client.expect("count"));
  }));
  return counts.reduce((n, count) => n + count, 0);
}

// Waits until the clients have received nothing new for a second.
async function drained(clients: LineProcess[]): Promise<number> {
  let count = await delivered(clients);
  for (let still = 0; still < 4;) {
    await new Promise((resolve) => setTimeout(resolve, 250));
    const now = await delivered(clients);
    still = now === count ? still + 1 : 0;
    count = now;
  }
  return count;
}

/**
 * N subscribers: RSS at rest, then events published as fast as the server
 * goes for `seconds`, then RSS for ten seconds after.
 */
export async function loadMemory(
  kind: ServerKind,
  options: {
    clients: number;
    processes: number;
    seconds: number;
    limit: number;
  },
): Promise<LoadMemoryResult> {
  return await withServer(kind, async (server, port) => {
    const pid = server.child.pid;
    const clients = await settledClients(port, {
      connections: options.clients,
      processes: options.processes,
      sample: 16,
    });
    try {
      const rest = median(await sampleFor(pid, 1000, 100));
      await expectEach(clients, 1_000_000_000);
      let peak = rest;
      const sampler = setInterval(() => {
        peak = Math.max(peak, rssOf(pid));
      }, 100);
      await server.send(`flood ${options.seconds}`);
      const published = Number(
        await server.expect("published", options.seconds * 1000 + 60_000),
      );
      const publishedAt = performance.now();
      const total = await drained(clients);
      clearInterval(sampler);
      const atStop = rssOf(pid);
      peak = Math.max(peak, atStop);
      const stoppedAt = performance.now();
      // From the stop until the last reading above the limit.
      let fellBackMs = atStop <= options.limit * rest ? 0 : Infinity;
      let rss = atStop;
      while (performance.now() - stoppedAt < SETTLE_MS) {
        await new Promise((resolve) => setTimeout(resolve, 100));
        rss = rssOf(pid);
        fellBackMs = rss > options.limit * rest
          ? Infinity
          : Math.min(fellBackMs, performance.now() - stoppedAt);
      }
      return {
        rest,
        peak,
        atStop,
        after: rss,
        drainMs: stoppedAt - publishedAt,
        fellBackMs,
        published,
        delivered: total,
      };
    } finally {
      await Promise.all(clients.map((c) => c.stop()));
    }
  });
}
