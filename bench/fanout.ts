/**
 * Fan-out benchmarks: dorgu-ws against a bare `Deno.serve` broadcast loop
 * under the same load, in the same run. The servers and the load clients
 * are separate processes; the clients only count messages and sample
 * latency, so they are not what is measured.
 *
 * @module
 */
import { readMetric, rssOf } from "../tests/support/hostile.ts";
import { RUNTIME_V8_FLAGS } from "../tools/permissions.ts";
import { LineProcess } from "./process.ts";

const SERVERS = {
  bare: "./bare_server.ts",
  dorgu: "./dorgu_server.ts",
  // Candidates for the transport, measured with --only candidates.
  transport: "./transport_server.ts",
  "ws-node": "./ws_node_server.ts",
} as const;

/** Which server a run measures. */
export type ServerKind = keyof typeof SERVERS;

interface ProcessStats {
  rss: number;
  cpuMs: number;
}

interface ClientResult {
  received: number;
  firstAt: number;
  lastAt: number;
  latencies: number[];
}

/** Throughput run results. */
export interface ThroughputResult {
  /** Messages delivered per second, all clients together. */
  messagesPerSecond: number;
  /** Median delivery latency, ms. */
  p50: number;
  /** 99th percentile delivery latency, ms. */
  p99: number;
  /** Server CPU time per delivered message, microseconds. */
  cpuPerMessageUs: number;
  /** Messages delivered out of those published times clients. */
  delivered: number;
  /** Messages that should have been delivered. */
  expected: number;
}

/** Idle-connection run results. */
export interface IdleResult {
  /** Server RSS with every connection open and subscribed, bytes. */
  rss: number;
  /** RSS growth per connection, bytes. */
  rssPerConnection: number;
  /** Time for one event to reach every connection, ms (median of runs). */
  broadcastMs: number;
}

/** The server's RSS and CPU time. */
export async function stats(server: LineProcess): Promise<ProcessStats> {
  await server.send("stats");
  return JSON.parse(await server.expect("stats"));
}

/** Runs `run` against a fresh server of `kind`, stopped afterwards. */
export async function withServer<T>(
  kind: ServerKind,
  run: (server: LineProcess, port: number) => Promise<T>,
): Promise<T> {
  // dorgu-ws runs as the binary does; the candidates with V8's defaults.
  const server = new LineProcess(
    SERVERS[kind],
    [],
    kind === "dorgu" ? { v8Flags: RUNTIME_V8_FLAGS.join(",") } : {},
  );
  try {
    const port = Number(await server.expect("listening"));
    return await run(server, port);
  } finally {
    await server.stop();
  }
}

/** Starts load clients with `connections` subscribed between them. */
export async function startClients(
  port: number,
  options: {
    connections: number;
    processes: number;
    expected: number;
    sample: number;
  },
): Promise<LineProcess[]> {
  const per = Math.ceil(options.connections / options.processes);
  const clients: LineProcess[] = [];
  for (let left = options.connections; left > 0; left -= per) {
    clients.push(
      new LineProcess("./load_client.ts", [
        `ws://127.0.0.1:${port}/ws`,
        String(Math.min(per, left)),
        String(options.expected),
        String(options.sample),
      ]),
    );
  }
  await Promise.all(clients.map((c) => c.expect("ready", 300_000)));
  return clients;
}

async function collect(
  clients: LineProcess[],
  waitMs: number,
): Promise<ClientResult[]> {
  return await Promise.all(clients.map(async (client) => {
    try {
      return JSON.parse(await client.expect("result", waitMs));
    } catch {
      // Some messages were dropped: take what arrived.
      await client.send("report");
      return JSON.parse(await client.expect("result"));
    }
  }));
}

/**
 * Starts load clients, each expecting one event per round, and gives the
 * server three seconds to settle once they are all subscribed.
 */
export async function settledClients(
  port: number,
  options: { connections: number; processes: number; sample: number },
): Promise<LineProcess[]> {
  const clients = await startClients(port, { ...options, expected: 1 });
  await new Promise((resolve) => setTimeout(resolve, 3000));
  return clients;
}

/** Starts a new count in every client and waits until each has reset. */
export async function expectEach(
  clients: LineProcess[],
  count: number,
): Promise<void> {
  await Promise.all(clients.map(async (client) => {
    await client.send(`expect ${count}`);
    await client.expect("expecting");
  }));
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[
    Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))
  ];
}

/**
 * N subscribed clients, M events published one per event-loop turn as fast
 * as the server goes.
 */
export async function throughput(
  kind: ServerKind,
  options: { clients: number; events: number; processes: number },
): Promise<ThroughputResult> {
  return await withServer(kind, async (server, port) => {
    const clients = await startClients(port, {
      connections: options.clients,
      processes: options.processes,
      expected: options.events,
      sample: 16,
    });
    try {
      const before = await stats(server);
      const startedAt = performance.timeOrigin + performance.now();
      await server.send(`publish ${options.events}`);
      await server.expect("published");
      const results = await collect(clients, 30_000);
      const after = await stats(server);
      const delivered = results.reduce((n, r) => n + r.received, 0);
      const lastAt = Math.max(...results.map((r) => r.lastAt));
      const latencies = results.flatMap((r) => r.latencies).sort((a, b) =>
        a - b
      );
      return {
        messagesPerSecond: delivered / ((lastAt - startedAt) / 1000),
        p50: percentile(latencies, 50),
        p99: percentile(latencies, 99),
        cpuPerMessageUs: ((after.cpuMs - before.cpuMs) * 1000) / delivered,
        delivered,
        expected: options.events * options.clients,
      };
    } finally {
      await Promise.all(clients.map((c) => c.stop()));
    }
  });
}

/**
 * N idle subscribed clients: the server's RSS, then the time one event
 * takes to reach all of them (median of `rounds`).
 */
export async function idle(
  kind: ServerKind,
  options: { clients: number; processes: number; rounds: number },
): Promise<IdleResult> {
  return await withServer(kind, async (server, port) => {
    const baseline = await stats(server);
    const clients = await settledClients(port, {
      connections: options.clients,
      processes: options.processes,
      sample: 1,
    });
    try {
      const loaded = await stats(server);
      const rounds: number[] = [];
      for (let round = 0; round < options.rounds; round++) {
        await expectEach(clients, 1);
        await server.send("publish 1");
        await server.expect("published");
        const results = await collect(clients, 30_000);
        rounds.push(Math.max(...results.flatMap((r) => r.latencies)));
      }
      rounds.sort((a, b) => a - b);
      return {
        rss: loaded.rss,
        rssPerConnection: (loaded.rss - baseline.rss) / options.clients,
        broadcastMs: rounds[Math.floor(rounds.length / 2)],
      };
    } finally {
      await Promise.all(clients.map((c) => c.stop()));
    }
  });
}

/** One phase of {@link overload}: events offered at a fixed rate. */
export interface RatePhase {
  /** Events offered per second. */
  rate: number;
  /** Events published in the phase. */
  published: number;
  /** Messages delivered, all clients together. */
  delivered: number;
  /** Events dropped for clients whose send buffer was full. */
  dropped: number;
  /** The server's highest RSS in the phase, bytes. */
  peakRss: number;
  /** The server's median RSS in the phase, bytes. */
  medianRss: number;
  /** Clients still connected at the end of the phase. */
  connected: number;
}

/** Overload run results. */
export interface OverloadResult {
  /**
   * Events per second every client is sent without a drop: half the rate
   * a burst is delivered at, so that queues stay short.
   */
  sustainable: number;
  /** At the sustainable rate. */
  atRate: RatePhase;
  /** At twice the sustainable rate. */
  twice: RatePhase;
}

async function ratePhase(
  server: LineProcess,
  port: number,
  clients: LineProcess[],
  options: { rate: number; seconds: number },
): Promise<RatePhase> {
  const dropped = () =>
    readMetric(port, 'dorgu_ws_messages_dropped_total{topic="events"}');
  const droppedBefore = await dropped();
  await expectEach(clients, 1_000_000_000);
  const readings: number[] = [];
  const sampler = setInterval(
    () => readings.push(rssOf(server.child.pid)),
    250,
  );
  await server.send(`rate ${options.rate} ${options.seconds}`);
  const published = Number(
    await server.expect("published", options.seconds * 1000 + 60_000),
  );
  // What is queued drains, or is dropped, within the write timeout.
  await new Promise((resolve) => setTimeout(resolve, 3000));
  clearInterval(sampler);
  const results = await Promise.all(clients.map(async (client) => {
    await client.send("report");
    return JSON.parse(await client.expect("result")) as ClientResult;
  }));
  readings.sort((a, b) => a - b);
  return {
    rate: options.rate,
    published,
    delivered: results.reduce((n, r) => n + r.received, 0),
    dropped: (await dropped()) - droppedBefore,
    peakRss: readings[readings.length - 1],
    medianRss: readings[Math.floor(readings.length / 2)],
    connected: await readMetric(port, "dorgu_ws_connections"),
  };
}

/**
 * N subscribed clients: the rate the server sustains (half the rate a
 * short burst is delivered at, as {@link throughput} measures it), then
 * events offered at that rate and at twice it for `seconds` each, the
 * server's RSS sampled throughout.
 */
export async function overload(
  options: { clients: number; processes: number; seconds: number },
): Promise<OverloadResult> {
  return await withServer("dorgu", async (server, port) => {
    const burst = 500;
    const clients = await startClients(port, {
      connections: options.clients,
      processes: options.processes,
      expected: burst,
      sample: 16,
    });
    try {
      const startedAt = performance.timeOrigin + performance.now();
      await server.send(`publish ${burst}`);
      await server.expect("published");
      const results = await collect(clients, 30_000);
      const lastAt = Math.max(...results.map((r) => r.lastAt));
      const delivered = results.reduce((n, r) => n + r.received, 0);
      const sustainable = Math.round(
        delivered / options.clients / ((lastAt - startedAt) / 1000) / 2,
      );
      const atRate = await ratePhase(server, port, clients, {
        rate: sustainable,
        seconds: options.seconds,
      });
      const twice = await ratePhase(server, port, clients, {
        rate: 2 * sustainable,
        seconds: options.seconds,
      });
      return { sustainable, atRate, twice };
    } finally {
      await Promise.all(clients.map((c) => c.stop()));
    }
  });
}
