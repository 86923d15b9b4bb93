/**
 * `/metrics` in the Prometheus text format (version 0.0.4), built on demand
 * from the counters each component keeps.
 */
import type { DispatchStats, Histogram, TopicStats } from "../hub/mod.ts";
import type { Topic } from "../protocol/mod.ts";
import type { Resource, ResourceStats, WatchStats } from "../sources/mod.ts";
import { VERSION } from "../version.ts";

/** Connection counters the HTTP layer keeps. */
export interface ConnectionStats {
  /** WebSocket connections open now. */
  open: number;
  /** Upgrades accepted since start. */
  accepted: number;
  /** Upgrades refused, by reason. */
  rejected: Map<string, number>;
  /** Connections ended, by cause. */
  closed: Map<string, number>;
}

/** Everything `/metrics` reports. */
export interface MetricsInput {
  /** Connection counters. */
  connections: ConnectionStats;
  /** Per-topic hub counters. */
  topics: Map<Topic, TopicStats>;
  /** Inbound message counters. */
  dispatch: DispatchStats;
  /** Per-resource cache counters. */
  resources: Map<Resource, ResourceStats>;
  /** Per-resource watch counters (empty for the directory source). */
  watches: Map<Resource, WatchStats>;
}

/** The content type Prometheus expects. */
export const METRICS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

/** Renders every metric. */
export function renderMetrics(input: MetricsInput): string {
  const out: string[] = [];
  const family = (
    name: string,
    type: "counter" | "gauge" | "histogram",
    help: string,
    samples: [Record<string, string>, number][],
  ) => {
    out.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
    for (const [labels, value] of samples) {
      out.push(`${name}${formatLabels(labels)} ${value}`);
    }
  };
  const byKey = <K extends string, T>(
    map: Map<K, T>,
    label: string,
    pick: (value: T) => number,
  ): [Record<string, string>, number][] =>
    [...map].map(([key, value]) => [{ [label]: key }, pick(value)]);

  family("dorgu_ws_build_info", "gauge", "Build information.", [[{
    version: VERSION,
  }, 1]]);
  const c = input.connections;
  family("dorgu_ws_connections", "gauge", "Open WebSocket connections.", [[
    {},
    c.open,
  ]]);
  family(
    "dorgu_ws_connections_accepted_total",
    "counter",
    "WebSocket upgrades accepted.",
    [[{}, c.accepted]],
  );
  family(
    "dorgu_ws_connections_rejected_total",
    "counter",
    "WebSocket upgrades refused, by reason.",
    byKey(c.rejected, "reason", (n) => n),
  );
  family(
    "dorgu_ws_connections_closed_total",
    "counter",
    "WebSocket connections ended, by cause.",
    byKey(c.closed, "cause", (n) => n),
  );
  const t = input.topics;
  family(
    "dorgu_ws_subscriptions",
    "gauge",
    "Subscriptions per topic.",
    byKey(t, "topic", (s) => s.subscribers),
  );
  family(
    "dorgu_ws_events_published_total",
    "counter",
    "Events published per topic.",
    byKey(t, "topic", (s) => s.offset),
  );
  family(
    "dorgu_ws_messages_sent_total",
    "counter",
    "Event messages handed to clients per topic.",
    byKey(t, "topic", (s) => s.sent),
  );
  family(
    "dorgu_ws_messages_dropped_total",
    "counter",
    "Events dropped per topic because a client's send buffer was full.",
    byKey(t, "topic", (s) => s.dropped),
  );
  family(
    "dorgu_ws_ring_buffer_events",
    "gauge",
    "Events held in each topic's ring buffer.",
    byKey(t, "topic", (s) => s.held),
  );
  family(
    "dorgu_ws_ring_buffer_capacity",
    "gauge",
    "Capacity of each topic's ring buffer.",
    byKey(t, "topic", (s) => s.capacity),
  );
  histogram(
    out,
    "dorgu_ws_request_duration_seconds",
    "Time to answer a request, per topic.",
    input.dispatch.latency,
  );
  family(
    "dorgu_ws_errors_total",
    "counter",
    "Error replies sent, by code.",
    byKey(input.dispatch.errors, "code", (n) => n),
  );
  family(
    "dorgu_ws_rate_limited_total",
    "counter",
    "Client messages refused by the rate limit.",
    [[{}, input.dispatch.rateLimited]],
  );
  const r = input.resources;
  family(
    "dorgu_ws_cache_objects",
    "gauge",
    "Objects cached per resource.",
    byKey(r, "resource", (s) => s.objects),
  );
  family(
    "dorgu_ws_resource_synced",
    "gauge",
    "Whether each resource has completed its first list (1) or not (0).",
    byKey(r, "resource", (s) => s.synced ? 1 : 0),
  );
  family(
    "dorgu_ws_projection_errors_total",
    "counter",
    "Objects skipped per resource because they lacked the expected shape.",
    byKey(r, "resource", (s) => s.decodeErrors),
  );
  const w = input.watches;
  family(
    "dorgu_ws_watch_restarts_total",
    "counter",
    "Watches restarted per resource.",
    byKey(w, "resource", (s) => s.restarts),
  );
  family(
    "dorgu_ws_watch_relists_total",
    "counter",
    "Full relists per resource after the first list.",
    byKey(w, "resource", (s) => s.relists),
  );
  family(
    "dorgu_ws_watch_decode_errors_total",
    "counter",
    "Watch stream lines that could not be decoded, per resource.",
    byKey(w, "resource", (s) => s.decodeErrors),
  );
  const memory = Deno.memoryUsage();
  family(
    "process_resident_memory_bytes",
    "gauge",
    "Resident memory size in bytes.",
    [[{}, memory.rss]],
  );
  family("dorgu_ws_heap_used_bytes", "gauge", "JavaScript heap in use.", [[
    {},
    memory.heapUsed,
  ]]);
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
