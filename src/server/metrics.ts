/**
 * `/metrics` in the Prometheus text format (version 0.0.4), built on demand
 * from the counters each component keeps, as the table in
 * metric_families.ts describes them.
 *
 * @module
 */
import type { Topic } from "../protocol/mod.ts";
import { buildInfo } from "../version.ts";
import type { Histogram } from "./histogram.ts";
import { FAMILIES, type MetricsInput } from "./metric_families.ts";

export type { MetricsInput, TransportStats } from "./metric_families.ts";

/** The content type Prometheus expects. */
export const METRICS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

/** Renders every metric. */
export function renderMetrics(input: MetricsInput): string {
  const build = buildInfo();
  const out: string[] = [
    "# HELP dorgu_ws_build_info The build: version, commit and Deno version.",
    "# TYPE dorgu_ws_build_info gauge",
    `dorgu_ws_build_info${
      formatLabels({
        version: build.version,
        commit: build.commit,
        deno: build.deno,
      })
    } 1`,
  ];
  for (const family of FAMILIES) {
    const samples = family.samples(input);
    if (samples === undefined) continue;
    out.push(
      `# HELP ${family.name} ${family.help}`,
      `# TYPE ${family.name} ${family.kind}`,
    );
    if (typeof samples === "number") {
      out.push(`${family.name} ${samples}`);
      continue;
    }
    const seeded = new Map<string, number>(
      (family.keys ?? []).map((key) => [key, 0]),
    );
    for (const [key, value] of samples) seeded.set(key, value);
    for (const [key, value] of seeded) {
      out.push(
        `${family.name}${
          formatLabels({ [family.label as string]: key })
        } ${value}`,
      );
    }
  }
  histogram(
    out,
    "dorgu_ws_request_duration_seconds",
    "Time to answer a request, per topic.",
    input.inbound.latency,
  );
  return out.join("\n") + "\n";
}

function histogram(
  out: string[],
  name: string,
  help: string,
  byTopic: Map<Topic, Histogram>,
): void {
  out.push(`# HELP ${name} ${help}`, `# TYPE ${name} histogram`);
  for (const [topic, h] of byTopic) {
    let cumulative = 0;
    h.bounds.forEach((bound, i) => {
      cumulative += h.counts[i];
      out.push(
        `${name}_bucket${
          formatLabels({ topic, le: String(bound) })
        } ${cumulative}`,
      );
    });
    out.push(`${name}_bucket${formatLabels({ topic, le: "+Inf" })} ${h.count}`);
    out.push(`${name}_sum${formatLabels({ topic })} ${h.sum}`);
    out.push(`${name}_count${formatLabels({ topic })} ${h.count}`);
  }
}

function formatLabels(labels: Record<string, string>): string {
  const entries = Object.entries(labels);
  if (entries.length === 0) return "";
  return `{${
    entries.map(([k, v]) =>
      `${k}="${
        v.replaceAll("\\", "\\\\").replaceAll('"', '\\"').replaceAll(
          "\n",
          "\\n",
        )
      }"`
    ).join(",")
  }}`;
}
