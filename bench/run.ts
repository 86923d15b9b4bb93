/**
 * `deno task bench`: every dorgu-ws benchmark, with its target.
 *
 *   deno task bench [--clients 1000] [--events 2000] [--idle 10000]
 *                   [--processes 2] [--rounds 15]
 *                   [--seconds 20]
 *                   [--only fanout,idle,overload,ingest,startup,client,recovery,dashboard,laptop,dashboard-command]
 *
 *   deno task bench --only candidates
 *       the transports considered for dorgu-ws (Deno.upgradeWebSocket, its
 *       own transport, the ws package on node:http), each as a plain
 *       broadcast loop, fan-out and idle; not in the default set.
 */
import { parseArgs } from "node:util";
import { idle, overload, throughput } from "./fanout.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    clients: { type: "string", default: "1000" },
    events: { type: "string", default: "2000" },
    idle: { type: "string", default: "10000" },
    processes: { type: "string", default: "2" },
    rounds: { type: "string", default: "15" },
    seconds: { type: "string", default: "20" },
    only: { type: "string" },
  },
});
const only = new Set(
  values.only?.split(",") ?? [
    "fanout",
    "idle",
    "overload",
    "ingest",
    "startup",
    "client",
    "recovery",
    "dashboard",
    "laptop",
    "dashboard-command",
  ],
);
const clients = Number(values.clients);
const events = Number(values.events);
const idleClients = Number(values.idle);
const processes = Number(values.processes);

interface Row {
  metric: string;
  bare: number;
  dorgu: number;
  /** Target as a ratio of dorgu-ws to bare, and which way is good. */
  target?: { ratio: number; higherIsBetter: boolean };
}

const rows: Row[] = [];
const fmt = (n: number) =>
  Number.isNaN(n)
    ? "-"
    : n >= 100
    ? n.toFixed(0)
    : n >= 10
    ? n.toFixed(1)
    : n.toFixed(2);

if (only.has("fanout")) {
  const options = { clients, events, processes };
  console.error(
    `fan-out: ${clients} clients x ${events} events, load from ${processes} processes`,
  );
  const bare = await throughput("bare", options);
  const dorgu = await throughput("dorgu", options);
  rows.push(
    {
      metric: `delivered messages/s (${clients} clients)`,
      bare: bare.messagesPerSecond,
      dorgu: dorgu.messagesPerSecond,
      target: { ratio: 0.8, higherIsBetter: true },
    },
    { metric: "p50 delivery latency, ms", bare: bare.p50, dorgu: dorgu.p50 },
    { metric: "p99 delivery latency, ms", bare: bare.p99, dorgu: dorgu.p99 },
    {
      metric: "server CPU per delivered message, us",
      bare: bare.cpuPerMessageUs,
      dorgu: dorgu.cpuPerMessageUs,
    },
    {
      metric: "messages delivered / expected, %",
      bare: (100 * bare.delivered) / bare.expected,
      dorgu: (100 * dorgu.delivered) / dorgu.expected,
    },
  );
}

if (only.has("idle")) {
  const options = {
    clients: idleClients,
    processes: Math.max(processes, 4),
    rounds: Number(values.rounds),
  };
  console.error(`idle: ${idleClients} subscribed connections`);
  const bare = await idle("bare", options);
  const dorgu = await idle("dorgu", options);
  rows.push(
    {
      metric: `RSS with ${idleClients} idle subscribed clients, MB`,
      bare: bare.rss / 1e6,
      dorgu: dorgu.rss / 1e6,
      target: { ratio: 1.15, higherIsBetter: false },
    },
    {
      metric: "RSS per idle connection, KB",
      bare: bare.rssPerConnection / 1e3,
      dorgu: dorgu.rssPerConnection / 1e3,
    },
    {
      metric: `one event to all ${idleClients} clients, ms`,
      bare: bare.broadcastMs,
      dorgu: dorgu.broadcastMs,
      target: { ratio: 1.25, higherIsBetter: false },
    },
  );
}

if (only.has("candidates")) {
  const kinds = ["bare", "transport", "ws-node"] as const;
  const names = {
    bare: "Deno.upgradeWebSocket",
    transport: "own transport",
    "ws-node": "ws on node:http",
  };
  console.error("candidates: the same broadcast loop on each transport");
  const table: string[][] = [[
    "transport",
    "delivered/s",
    "CPU us/msg",
    "delivered %",
    "idle RSS MB",
    "broadcast ms",
  ]];
  for (const kind of kinds) {
    const t = await throughput(kind, { clients, events, processes });
    const i = await idle(kind, {
      clients: idleClients,
      processes: Math.max(processes, 4),
      rounds: Number(values.rounds),
    });
    table.push([
      names[kind],
      fmt(t.messagesPerSecond),
      fmt(t.cpuPerMessageUs),
      fmt((100 * t.delivered) / t.expected),
      fmt(i.rss / 1e6),
      fmt(i.broadcastMs),
    ]);
  }
  const widths = table[0].map((_, c) =>
    Math.max(...table.map((r) => r[c].length))
  );
  for (const row of table) {
    console.log(row.map((cell, c) => cell.padStart(widths[c])).join("  "));
  }
}

if (rows.length) {
  const width = Math.max(...rows.map((r) => r.metric.length));
  console.log(
    `${"metric".padEnd(width)}  ${"bare Deno".padStart(10)}  ${
      "dorgu-ws".padStart(10)
    }  ${"ratio".padStart(6)}  target`,
  );
  for (const row of rows) {
    const ratio = row.dorgu / row.bare;
    const verdict = row.target
      ? `${row.target.higherIsBetter ? ">=" : "<="} ${row.target.ratio}x ${
        (row.target.higherIsBetter
            ? ratio >= row.target.ratio
            : ratio <= row.target.ratio)
          ? "met"
          : "MISSED"
      }`
      : "";
    console.log(
      `${row.metric.padEnd(width)}  ${fmt(row.bare).padStart(10)}  ${
        fmt(row.dorgu).padStart(10)
      }  ${fmt(ratio).padStart(6)}  ${verdict}`,
    );
  }
}

/** What bench/laptop.ts prints. */
interface LaptopResult {
  medians: Record<string, number>;
  watch: Record<string, { fromAnswer: number; fromSend: number }>;
  breakdown: Record<string, number>;
}

/** A measurement with an absolute target. */
interface Absolute {
  metric: string;
  value: number;
  target: number;
  higherIsBetter: boolean;
}

const absolutes: Absolute[] = [];

async function child(args: string[]): Promise<Record<string, number>> {
  const output = await new Deno.Command(Deno.execPath(), {
    args,
    stdout: "piped",
    stderr: "inherit",
  }).output();
  const line = new TextDecoder().decode(output.stdout).split("\n").find((l) =>
    l.startsWith("result ")
  );
  if (!output.success || !line) throw new Error(`${args.join(" ")} failed`);
  return JSON.parse(line.slice(7));
}

if (only.has("overload")) {
  const seconds = Number(values.seconds);
  console.error(
    `overload: ${clients} clients, events at the sustainable rate then twice it, ${seconds} s each`,
  );
  const result = await overload({ clients, processes, seconds });
  for (const [name, phase] of Object.entries(result)) {
    if (typeof phase === "number") continue;
    console.error(
      `  ${name}: ${phase.rate} events/s, ${phase.published} published, ${
        (100 * phase.delivered / (phase.published * clients)).toFixed(1)
      }% delivered, ${phase.dropped} dropped, ${phase.connected} clients still connected; RSS median ${
        fmt(phase.medianRss / 1e6)
      } MB, peak ${fmt(phase.peakRss / 1e6)} MB`,
    );
  }
  absolutes.push({
    metric: `RSS at twice the sustainable rate (${
      2 * result.sustainable
    } events/s x ${clients} clients) / at it, peak`,
    value: result.twice.peakRss / result.atRate.peakRss,
    target: 1.5,
    higherIsBetter: false,
  });
}

if (only.has("ingest")) {
  console.error(
    "ingest: 50000 watch events over 1000 personas; cache of 10000 personas",
  );
  const result = await child([
    "run",
    "-A",
    "--v8-flags=--expose-gc",
    new URL("./ingest.ts", import.meta.url).pathname,
    "50000",
    "1000",
  ]);
  absolutes.push(
    {
      metric: "watch ingest, objects/s (decode, diff, publish)",
      value: result.objectsPerSecond,
      target: 20_000,
      higherIsBetter: true,
    },
    {
      metric: "cache memory per persona, bytes",
      value: result.bytesPerPersona,
      target: 1024,
      higherIsBetter: false,
    },
  );
}

if (only.has("startup")) {
  console.error(
    "startup: serve until /ready against kube-apiserver with 1000 personas",
  );
  const result = await child([
    "run",
    "-A",
    new URL("./startup.ts", import.meta.url).pathname,
    "1000",
    values.rounds ?? "5",
  ]);
  absolutes.push({
    metric: "serve start to /ready, 1000 personas, ms (median)",
    value: result.readyMs,
    target: 1500,
    higherIsBetter: false,
  });
}

if (only.has("client")) {
  console.error("client: process start to exit, median of 15");
  const result = await child([
    "run",
    "-A",
    new URL("./client.ts", import.meta.url).pathname,
    "15",
  ]);
  absolutes.push(
    {
      metric: "client start-up (dorgu-ws version), ms",
      value: result.startupMs,
      target: 300,
      higherIsBetter: false,
    },
    {
      metric: "dorgu-ws get personas, end to end, ms",
      value: result.getMs,
      target: 300,
      higherIsBetter: false,
    },
  );
}

if (only.has("recovery")) {
  console.error(
    "recovery: kube-apiserver killed, kept down, frozen; time from its return until dorgu-ws has caught up",
  );
  const result = await child([
    "run",
    "-A",
    new URL("./recovery.ts", import.meta.url).pathname,
  ]);
  const phases: [string, string, number][] = [
    ["blip", "a blip (kill -9, restart), fresh informers", 3],
    ["outage-20s", "20 s down (kill -9)", 10],
    ["blip-2min-after-outage", "a blip two minutes after that outage", 3],
    ["outage-60s", "60 s down (kill -9)", 10],
    ["sigstop-20s", "SIGSTOP for 20 s, then SIGCONT", 10],
  ];
  for (const [key, what, target] of phases) {
    absolutes.push({
      metric: `caught up after ${what}, s`,
      value: result[key] / 1000,
      target,
      higherIsBetter: false,
    });
  }
  absolutes.push({
    metric: "any event lost, doubled or wrong (1) or none (0)",
    value: result.inexact,
    target: 0,
    higherIsBetter: false,
  });
}

if (only.has("dashboard")) {
  console.error(
    "dashboard: headless Chromium; the demo, then 5000 personas and 100 events/s",
  );
  const result = await child([
    "run",
    "-A",
    new URL("./dashboard.ts", import.meta.url).pathname,
    "5",
  ]);
  absolutes.push(
    {
      metric: "dashboard first render, demo, ms (median of 5)",
      value: result.demoFirstRenderMs,
      target: 1000,
      higherIsBetter: false,
    },
    {
      metric: "dashboard longest task, loading 5000 personas, ms",
      value: result.bigLoadLongestTaskMs,
      target: 200,
      higherIsBetter: false,
    },
    {
      metric: "dashboard longest task, 100 events/s for 10 s, ms",
      value: result.streamLongestTaskMs,
      target: 200,
      higherIsBetter: false,
    },
    {
      metric: "dashboard longest task, filter, sort, page, ms",
      value: result.interactLongestTaskMs,
      target: 200,
      higherIsBetter: false,
    },
  );
}

if (only.has("laptop")) {
  console.error(
    `laptop: get and watch --context against kubectl of the same Kubernetes version, 1000 personas, medians of ${values.rounds}`,
  );
  const result = await child([
    "run",
    "-A",
    new URL("./laptop.ts", import.meta.url).pathname,
    "1000",
    values.rounds,
  ]) as unknown as LaptopResult;
  const m = result.medians;
  console.error(
    `  get NAME, one deno run process, medians: ${
      Object.entries(result.breakdown).map(([phase, ms]) =>
        `${phase} ${fmt(ms)} ms`
      ).join("; ")
    }`,
  );
  for (const runner of ["binary", "deno-run"] as const) {
    const how = runner === "binary" ? "compiled binary" : "deno run";
    console.error(
      `  ${how}: version ${
        fmt(m[`${runner} version`])
      } ms; get of a namespace holding 1 persona ${
        fmt(m[`${runner} solo ns`])
      } ms (kubectl ${
        fmt(m["kubectl solo ns"])
      } ms); get -A, both without compression, ${
        fmt(m[`${runner} all identity`])
      } ms (kubectl ${fmt(m["kubectl all identity"])} ms)`,
    );
    absolutes.push(
      {
        metric: `get personas -A --context, 1000 personas, ${how} / kubectl (${
          fmt(m[`${runner} all`])
        } / ${fmt(m["kubectl all"])} ms)`,
        value: m[`${runner} all`] / m["kubectl all"],
        target: 1,
        higherIsBetter: false,
      },
      {
        metric: `get personas NAME -n NS --context, ${how} / kubectl (${
          fmt(m[`${runner} one`])
        } / ${fmt(m["kubectl one"])} ms)`,
        value: m[`${runner} one`] / m["kubectl one"],
        target: 1,
        higherIsBetter: false,
      },
      {
        metric:
          `watch personas --context, ${how}: an edit printed after the API answered it, ms (p50; ${
            fmt(result.watch[runner].fromSend)
          } from sending it)`,
        value: result.watch[runner].fromAnswer,
        target: 100,
        higherIsBetter: false,
      },
    );
  }
}

if (only.has("dashboard-command")) {
  console.error(
    "dashboard command: process start to the first render of 1000 personas from kube-apiserver, in Chromium",
  );
  const result = await child([
    "run",
    "-A",
    new URL("./dashboard_command.ts", import.meta.url).pathname,
    "1000",
    values.rounds ?? "5",
  ]);
  console.error(
    `  URL printed after ${result.startToUrlMs} ms (median); each round: ${
      JSON.stringify(result.toRender)
    } ms`,
  );
  absolutes.push({
    metric: "dorgu-ws dashboard start to first render, 1000 personas, ms",
    value: result.startToRenderMs,
    target: 2000,
    higherIsBetter: false,
  });
}

if (absolutes.length) {
  const wide = Math.max(...absolutes.map((a) => a.metric.length));
  console.log(`\n${"metric".padEnd(wide)}  ${"value".padStart(10)}  target`);
  for (const a of absolutes) {
    const met = a.higherIsBetter ? a.value >= a.target : a.value <= a.target;
    console.log(
      `${a.metric.padEnd(wide)}  ${fmt(a.value).padStart(10)}  ${
        a.higherIsBetter ? ">=" : "<="
      } ${a.target} ${met ? "met" : "MISSED"}`,
    );
  }
}
