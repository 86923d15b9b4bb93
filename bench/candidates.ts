/**
 * `deno task bench --only candidates`: the same plain broadcast loop on
 * each transport considered for dorgu-ws (Deno.upgradeWebSocket, the own
 * transport, ws on node:http), fan-out and idle, in the same run. With
 * `--repeat N` the candidates run N times, interleaved, and each figure is
 * the median of its N: this machine's load changes faster than one pass.
 * The own transport is judged against the runtime's WebSocket on the median
 * of the ratios within each pass, where both ran one after the other under
 * about the same load.
 *
 * @module
 */
import { idle, type ServerKind, throughput } from "./fanout.ts";
import { type Figure, fmt, printFigures, printTable } from "./report.ts";

const KINDS = ["bare", "transport", "ws-node"] as const;
const NAMES: Record<typeof KINDS[number], string> = {
  bare: "Deno.upgradeWebSocket",
  transport: "own transport",
  "ws-node": "ws on node:http",
};

/**
 * The own transport's figures over Deno.upgradeWebSocket's before issue 20
 * (medians of the ratios of 9 interleaved passes in 3 runs, see the
 * README's Benchmarks): the broadcast latency had to come down without
 * giving up more than 5% of these.
 */
export const BEFORE_ISSUE_20 = { delivered: 1.89, cpu: 0.61 };

interface Pass {
  delivered: number;
  cpuUs: number;
  deliveredPercent: number;
  idleRss: number;
  broadcastMs: number;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

async function pass(
  kind: ServerKind,
  options: {
    clients: number;
    events: number;
    processes: number;
    idle: number;
    rounds: number;
  },
): Promise<Pass> {
  const t = await throughput(kind, options);
  const i = await idle(kind, {
    clients: options.idle,
    processes: Math.max(options.processes, 4),
    rounds: options.rounds,
  });
  return {
    delivered: t.messagesPerSecond,
    cpuUs: t.cpuPerMessageUs,
    deliveredPercent: (100 * t.delivered) / t.expected,
    idleRss: i.rss,
    broadcastMs: i.broadcastMs,
  };
}

/** Runs the candidates `repeat` times, interleaved; prints the medians. */
export async function candidates(options: {
  clients: number;
  events: number;
  processes: number;
  idle: number;
  rounds: number;
  repeat: number;
}): Promise<void> {
  console.error(
    `candidates: the same broadcast loop on each transport, ${options.repeat} interleaved pass(es)`,
  );
  const passes = new Map<string, Pass[]>(KINDS.map((k) => [k, []]));
  for (let i = 0; i < options.repeat; i++) {
    for (const kind of KINDS) {
      const result = await pass(kind, options);
      console.error(`  ${NAMES[kind]}: ${JSON.stringify(result)}`);
      passes.get(kind)?.push(result);
    }
  }
  const medians = new Map(
    KINDS.map((kind) => {
      const all = passes.get(kind) as Pass[];
      const of = (key: keyof Pass) => median(all.map((p) => p[key]));
      return [kind, {
        delivered: of("delivered"),
        cpuUs: of("cpuUs"),
        deliveredPercent: of("deliveredPercent"),
        idleRss: of("idleRss"),
        broadcastMs: of("broadcastMs"),
      }];
    }),
  );
  printTable(
    [
      "transport",
      "delivered/s",
      "CPU us/msg",
      "delivered %",
      "idle RSS MB",
      `one event to ${options.idle}, ms`,
    ],
    KINDS.map((kind) => {
      const m = medians.get(kind) as Pass;
      return [
        NAMES[kind],
        fmt(m.delivered),
        fmt(m.cpuUs),
        fmt(m.deliveredPercent),
        fmt(m.idleRss / 1e6),
        fmt(m.broadcastMs),
      ];
    }),
  );
  const own = medians.get("transport") as Pass;
  const runtime = medians.get("bare") as Pass;
  const owns = passes.get("transport") as Pass[];
  const runtimes = passes.get("bare") as Pass[];
  const paired = (key: keyof Pass) =>
    median(owns.map((p, i) => p[key] / runtimes[i][key]));
  const figures: Figure[] = [
    {
      metric: `own transport: one event to ${options.idle} idle, ms`,
      value: own.broadcastMs,
      reference: runtime.broadcastMs,
      ratio: paired("broadcastMs"),
      target: { limit: 1.1, higherIsBetter: false },
    },
    {
      metric: "own transport: delivered messages/s",
      value: own.delivered,
      reference: runtime.delivered,
      ratio: paired("delivered"),
      target: {
        limit: +(0.95 * BEFORE_ISSUE_20.delivered).toFixed(2),
        higherIsBetter: true,
      },
    },
    {
      metric: "own transport: CPU per message, us",
      value: own.cpuUs,
      reference: runtime.cpuUs,
      ratio: paired("cpuUs"),
      target: {
        limit: +(1.05 * BEFORE_ISSUE_20.cpu).toFixed(2),
        higherIsBetter: false,
      },
    },
  ];
  console.log("");
  printFigures(figures, "runtime's");
}
