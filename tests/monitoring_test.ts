/**
 * What a platform team monitors: `/metrics` read by Prometheus' own parser
 * (promtool), every series with labels known up front there at zero from
 * the start, the standard process_* family matching the process; the
 * chart's alert rules checked by promtool and each alert shown to fire on
 * its condition (and not without it); and every metric the rules and the
 * dashboard use present in `/metrics`.
 */
import assert from "node:assert/strict";
import { ERROR_CODES, TOPICS } from "../src/protocol/mod.ts";
import { REFUSAL_REASONS } from "../src/server/upgrade.ts";
import { RESOURCES } from "../src/sources/mod.ts";
import { CLOSE_CAUSES, SHED_REASONS } from "../src/transport/mod.ts";
import { VERSION } from "../src/version.ts";
import { CHART, find, NAMESPACE, render } from "./support/chart.ts";
import { createCa, servingCertificate } from "./support/certs.ts";
import { assetsDir } from "./support/envtest.ts";
import { startTestServer } from "./support/server.ts";

async function promtool(
  args: string[],
  stdin?: string,
): Promise<{ code: number; output: string }> {
  const child = new Deno.Command(`${await assetsDir()}/promtool`, {
    args,
    stdin: stdin === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  if (stdin !== undefined) {
    const writer = child.stdin.getWriter();
    await writer.write(new TextEncoder().encode(stdin));
    await writer.close();
  }
  const output = await child.output();
  const decode = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
  return {
    code: output.code,
    output: decode(output.stdout) + decode(output.stderr),
  };
}

/** Samples by series (`name{labels}`), from the text format. */
function samples(text: string): Map<string, number> {
  const found = new Map<string, number>();
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    const space = line.lastIndexOf(" ");
    found.set(line.slice(0, space), Number(line.slice(space + 1)));
  }
  return found;
}

function sampleNames(text: string): Set<string> {
  return new Set([...samples(text).keys()].map((s) => s.replace(/\{.*/, "")));
}

Deno.test("/metrics passes Prometheus' own parser and lint, with every known series at zero from the start", async () => {
  await using server = await startTestServer({ source: "demo" });
  const text = await (await fetch(`${server.httpUrl}/metrics`)).text();
  const checked = await promtool(["check", "metrics"], text);
  assert.equal(checked.code, 0, checked.output);
  assert.equal(checked.output, "", "no lint findings");
  // The parser can fail: a broken exposition is refused.
  const broken = await promtool(["check", "metrics"], text + "broken{ 1\n");
  assert.notEqual(broken.code, 0);

  const found = samples(text);
  const zero = (series: string) =>
    assert.equal(found.get(series), 0, `${series} is present at 0`);
  for (const code of ERROR_CODES) zero(`dorgu_ws_errors_total{code="${code}"}`);
  for (const reason of REFUSAL_REASONS) {
    zero(`dorgu_ws_connections_rejected_total{reason="${reason}"}`);
  }
  for (const cause of CLOSE_CAUSES) {
    zero(`dorgu_ws_connections_closed_total{cause="${cause}"}`);
  }
  for (const reason of SHED_REASONS) {
    zero(`dorgu_ws_connections_shed_total{reason="${reason}"}`);
  }
  zero(`dorgu_ws_http_refused_total{reason="host"}`);
  for (const resource of RESOURCES) {
    for (
      const family of [
        "watch_restarts_total",
        "watch_relists_total",
        "watch_decode_errors_total",
        "projection_errors_total",
      ]
    ) {
      zero(`dorgu_ws_${family}{resource="${resource}"}`);
    }
  }
  for (const topic of TOPICS) {
    zero(`dorgu_ws_messages_dropped_total{topic="${topic}"}`);
    zero(`dorgu_ws_request_duration_seconds_count{topic="${topic}"}`);
  }
  // Without TLS there is nothing to report about it.
  assert.ok(![...found.keys()].some((s) => s.startsWith("dorgu_ws_tls_")));

  assert.equal(
    found.get(
      `dorgu_ws_build_info{version="${VERSION}",commit="unknown",deno="${Deno.version.deno}"}`,
    ),
    1,
  );
  assert.equal(found.get("dorgu_ws_ready"), 1);
  assert.equal(found.get("dorgu_ws_max_connections"), 10000);

  // The process_* family describes this very process (the server runs in it).
  const now = Date.now() / 1000;
  const started = found.get("process_start_time_seconds")!;
  assert.ok(started <= now && started > now - 3600, `started ${started}`);
  let fds = 0;
  for (const _ of Deno.readDirSync("/proc/self/fd")) fds++;
  const openFds = found.get("process_open_fds")!;
  assert.ok(Math.abs(openFds - fds) <= 5, `${openFds} fds, /proc says ${fds}`);
  const limits = Deno.readTextFileSync("/proc/self/limits");
  assert.equal(
    found.get("process_max_fds"),
    Number(/^Max open files\s+(\d+)/m.exec(limits)?.[1]),
  );
  const rss = found.get("process_resident_memory_bytes")!;
  assert.ok(
    Math.abs(rss - Deno.memoryUsage().rss) < 64 * 1024 * 1024,
    `rss ${rss}`,
  );
  assert.ok(found.get("process_virtual_memory_bytes")! >= rss);
  assert.ok(found.get("process_cpu_seconds_total")! > 0);
  assert.ok(found.get("dorgu_ws_memory_limit_bytes")! > rss);
});

/** The chart's alert rules, as a Prometheus rule file, and the names they use. */
async function renderedRules(): Promise<
  { file: string; exprs: string[]; rules: Record<string, unknown>[] }
> {
  const [rule] = find(
    await render(["prometheusRule.enabled=true"]),
    "PrometheusRule",
  );
  const spec = rule.spec as {
    groups: { name: string; rules: Record<string, unknown>[] }[];
  };
  const dir = await Deno.makeTempDir({ prefix: "dorgu-ws-rules-" });
  const file = `${dir}/rules.yaml`;
  // JSON is YAML: the spec is already a rule file's content.
  await Deno.writeTextFile(file, JSON.stringify(spec));
  const rules = spec.groups.flatMap((g) => g.rules);
  return { file, exprs: rules.map((r) => String(r.expr)), rules };
}

const SERIES = `job="dorgu-ws",namespace="${NAMESPACE}",pod="dorgu-ws-0"`;
const ALERT_LABELS = { namespace: NAMESPACE, pod: "dorgu-ws-0" };

/** One alert's case: input series, and when it must (and must not) fire. */
interface AlertCase {
  alert: string;
  series: Record<string, string>;
  /** The alert's labels besides severity, namespace and pod. */
  labels?: Record<string, string>;
  /** When it fires. */
  firesAt: string;
  /** A time at which it must not fire yet (for, or below the threshold). */
  quietAt: string;
}

const ALERT_CASES: AlertCase[] = [
  {
    alert: "DorguWsNotReady",
    // Ready, then not ready from minute 2 on: fires after 5 more minutes.
    series: { dorgu_ws_ready: "1 1 0x20" },
    firesAt: "8m",
    quietAt: "6m",
  },
  {
    alert: "DorguWsWatchRestarting",
    series: {
      'dorgu_ws_watch_restarts_total{resource="personas"}': "0+1x20",
      'dorgu_ws_watch_restarts_total{resource="events"}': "0x20",
    },
    labels: { resource: "personas" },
    firesAt: "10m",
    quietAt: "3m",
  },
  {
    alert: "DorguWsEventsDropped",
    series: {
      'dorgu_ws_messages_dropped_total{topic="events"}': "0+10x30",
      'dorgu_ws_messages_dropped_total{topic="personas"}': "0x30",
    },
    labels: { topic: "events" },
    firesAt: "20m",
    quietAt: "8m",
  },
  {
    alert: "DorguWsConnectionsNearLimit",
    series: {
      dorgu_ws_connections: "9000 9500x20",
      dorgu_ws_max_connections: "10000x21",
    },
    firesAt: "10m",
    quietAt: "3m",
  },
  {
    alert: "DorguWsFileDescriptorsNearLimit",
    series: { process_open_fds: "100 1000x20", process_max_fds: "1024x21" },
    firesAt: "10m",
    quietAt: "3m",
  },
  {
    alert: "DorguWsMemoryNearLimit",
    series: {
      process_resident_memory_bytes: "100e6 500e6x20",
      dorgu_ws_memory_limit_bytes: "536870912x21",
    },
    firesAt: "10m",
    quietAt: "3m",
  },
  {
    alert: "DorguWsCertificateExpiring",
    // Expires 3 days after time 0: under the 7 days, for an hour.
    series: { dorgu_ws_tls_certificate_expiry_timestamp_seconds: "259200x150" },
    firesAt: "2h",
    quietAt: "30m",
  },
];

Deno.test("the alert rules pass promtool check rules, and each alert fires on its condition and not before", async () => {
  const { file, rules } = await renderedRules();
  const checked = await promtool(["check", "rules", file]);
  assert.equal(checked.code, 0, checked.output);
  assert.match(checked.output, /SUCCESS: 7 rules found/);
  assert.deepEqual(
    ALERT_CASES.map((c) => c.alert).sort(),
    rules.map((r) => String(r.alert)).sort(),
    "every alert has a case",
  );

  const tests = ALERT_CASES.map((c) => ({
    interval: "1m",
    input_series: Object.entries(c.series).map(([series, values]) => ({
      series: series.includes("{")
        ? series.replace("{", `{${SERIES},`)
        : `${series}{${SERIES}}`,
      values,
    })),
    alert_rule_test: [
      { eval_time: c.quietAt, alertname: c.alert, exp_alerts: [] },
      {
        eval_time: c.firesAt,
        alertname: c.alert,
        exp_alerts: [{
          exp_labels: { severity: "warning", ...ALERT_LABELS, ...c.labels },
        }],
      },
    ],
  }));
  // promtool compares annotations too; these checks are about when alerts
  // fire, so each expected alert takes the annotations it renders.
  const probe = `${file}.probe.yaml`;
  await Deno.writeTextFile(
    probe,
    JSON.stringify({ rule_files: [file], evaluation_interval: "1m", tests }),
  );
  const first = await promtool(["test", "rules", probe]);
  // promtool prints, per failed check, what it expected and what it got.
  const annotations = new Map<string, Record<string, string>>();
  for (const chunk of first.output.split("alertname: ").slice(1)) {
    const got = chunk.slice(chunk.indexOf("got:"));
    const rendered = /Annotations:\{(.*)\}/.exec(got)?.[1];
    if (rendered === undefined) continue;
    const pairs = [...rendered.matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)];
    annotations.set(
      chunk.slice(0, chunk.indexOf(",")),
      Object.fromEntries(pairs.map((p) => [p[1], JSON.parse(`"${p[2]}"`)])),
    );
  }
  for (const test of tests) {
    const firing = test.alert_rule_test[1];
    firing.exp_alerts[0] = {
      ...firing.exp_alerts[0],
      exp_annotations: annotations.get(firing.alertname) ?? {},
    } as typeof firing.exp_alerts[0];
  }
  await Deno.writeTextFile(
    probe,
    JSON.stringify({ rule_files: [file], evaluation_interval: "1m", tests }),
  );
  const result = await promtool(["test", "rules", probe]);
  assert.equal(result.code, 0, result.output);
  assert.match(result.output, /SUCCESS/);
  // Each summary names the pod and a value, not a template left unrendered.
  for (const [alert, values] of annotations) {
    assert.match(values.summary, /dorgu-ws-0/, alert);
    assert.doesNotMatch(values.summary, /\{\{|<no value>/, alert);
  }
  assert.equal(annotations.size, ALERT_CASES.length, first.output);
});

const METRIC = /\b(dorgu_ws_[a-z_]+|process_[a-z_]+)\b/g;

Deno.test("every metric the alert rules and the dashboard use is in /metrics", async () => {
  const { exprs } = await renderedRules();
  const dashboard = JSON.parse(
    await Deno.readTextFile(`${CHART}/dashboards/dorgu-ws.json`),
  ) as {
    panels: { targets?: { expr: string }[] }[];
    templating: { list: { query?: string | { query: string } }[] };
  };
  const queries = [
    ...dashboard.panels.flatMap((p) => p.targets ?? []).map((t) => t.expr),
    ...dashboard.templating.list.map((v) =>
      typeof v.query === "object" ? v.query.query : v.query ?? ""
    ),
  ];
  const used = new Set(
    [...exprs, ...queries].flatMap((q) => [...q.matchAll(METRIC)]).map((m) =>
      m[1]
    ),
  );
  assert.ok(used.size > 25, [...used].join(" "));
  // What the dashboard is for.
  for (
    const needed of [
      "dorgu_ws_connections",
      "dorgu_ws_events_published_total",
      "dorgu_ws_messages_sent_total",
      "dorgu_ws_messages_dropped_total",
      "dorgu_ws_request_duration_seconds_bucket",
      "dorgu_ws_watch_restarts_total",
      "process_resident_memory_bytes",
      "process_cpu_seconds_total",
    ]
  ) {
    assert.ok(queries.some((q) => q.includes(needed)), needed);
  }

  // A server with TLS, so that the certificate's series exist too.
  const dir = await Deno.makeTempDir({ prefix: "dorgu-ws-metrics-" });
  const ca = await createCa(dir, "ca");
  const pair = await servingCertificate(ca, "server");
  await using server = await startTestServer({
    source: "demo",
    tlsCertFile: pair.certFile,
    tlsPrivateKeyFile: pair.keyFile,
  });
  const client = Deno.createHttpClient({ caCerts: [ca.cert] });
  try {
    const text = await (await fetch(
      `https://127.0.0.1:${server.port}/metrics`,
      { client },
    )).text();
    const exposed = sampleNames(text);
    const missing = [...used].filter((name) => !exposed.has(name));
    assert.deepEqual(
      missing,
      [],
      "used by a rule or panel, absent in /metrics",
    );
  } finally {
    client.close();
  }
});
