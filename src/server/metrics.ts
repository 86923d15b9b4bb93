/**
 * `/metrics` in the Prometheus text format (version 0.0.4), built on demand
 * from the counters each component keeps.
 */
import type { TopicStats } from "../hub/mod.ts";
import type { Topic } from "../protocol/mod.ts";
import type { Resource, ResourceStats, WatchStats } from "../sources/mod.ts";
import { VERSION } from "../version.ts";
import type { Histogram } from "./histogram.ts";
import type { InboundStats } from "./inbound.ts";
import type { ConnectionStats } from "./upgrade.ts";

/** What the transport reports about its connections. */
export interface TransportStats {
  /** WebSocket connections open now. */
  webSockets: number;
  /** Connections open now that have not upgraded. */
  http: number;
  /** Connections closed as they arrived or while waiting, by reason. */
  shed: Map<string, number>;
  /** Bytes queued for clients, summed over connections. */
  queuedBytes: number;
}

/** Everything `/metrics` reports. */
export interface MetricsInput {
  /** WebSocket upgrade counters. */
  connections: ConnectionStats;
  /** Connection gauges and counters of the transport. */
  transport: TransportStats;
  /** Requests refused before any route (the host rule), by reason. */
  refused: Map<string, number>;
  /** Per-topic hub counters. */
  topics: Map<Topic, TopicStats>;
  /** Inbound message counters. */
  inbound: InboundStats;
  /** Per-resource cache counters. */
  resources: Map<Resource, ResourceStats>;
  /** Per-resource watch counters (empty for the directory source). */
  watches: Map<Resource, WatchStats>;
}

/** The content type Prometheus expects. */
export const METRICS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

type Kind = "counter" | "gauge";

/** One metric family: name, type, help, and how to read its samples. */
interface Family {
  name: string;
  kind: Kind;
  help: string;
  /** Label name, for families with one sample per key. */
  label?: string;
  samples: (input: MetricsInput) => Map<string, number> | number;
}

function perKey<K extends string, T>(
  map: Map<K, T>,
  pick: (value: T) => number,
): Map<string, number> {
  return new Map([...map].map(([key, value]) => [key, pick(value)]));
}

const FAMILIES: Family[] = [
  {
    name: "dorgu_ws_connections",
    kind: "gauge",
    help: "Open WebSocket connections.",
    samples: (i) => i.transport.webSockets,
  },
  {
    name: "dorgu_ws_http_connections",
    kind: "gauge",
    help: "Open connections that have not upgraded to WebSocket.",
    samples: (i) => i.transport.http,
  },
  {
    name: "dorgu_ws_connections_shed_total",
    kind: "counter",
    help:
      "Connections closed by the server as they arrived or while idle, by reason (file_limit, http_limit, evicted, header_timeout, write_timeout, draining).",
    label: "reason",
    samples: (i) => i.transport.shed,
  },
  {
    name: "dorgu_ws_http_refused_total",
    kind: "counter",
    help: "Requests refused before any route, by reason (host).",
    label: "reason",
    samples: (i) => i.refused,
  },
  {
    name: "dorgu_ws_send_queue_bytes",
    kind: "gauge",
    help:
      "Bytes queued for WebSocket clients, not counting the one write of at most 64 KiB each may have under way.",
    samples: (i) => i.transport.queuedBytes,
  },
  {
    name: "dorgu_ws_connections_accepted_total",
    kind: "counter",
    help: "WebSocket upgrades accepted.",
    samples: (i) => i.connections.accepted,
  },
  {
    name: "dorgu_ws_connections_rejected_total",
    kind: "counter",
    help: "WebSocket upgrades refused, by reason.",
    label: "reason",
    samples: (i) => i.connections.rejected,
  },
  {
    name: "dorgu_ws_connections_closed_total",
    kind: "counter",
    help: "WebSocket connections ended, by cause.",
    label: "cause",
    samples: (i) => i.connections.closed,
  },
  {
    name: "dorgu_ws_subscriptions",
    kind: "gauge",
    help: "Subscriptions per topic.",
    label: "topic",
    samples: (i) => perKey(i.topics, (t) => t.subscribers),
  },
  {
    name: "dorgu_ws_events_published_total",
    kind: "counter",
    help: "Events published per topic.",
    label: "topic",
    samples: (i) => perKey(i.topics, (t) => t.offset),
  },
  {
    name: "dorgu_ws_messages_sent_total",
    kind: "counter",
    help: "Event messages handed to clients per topic.",
    label: "topic",
    samples: (i) => perKey(i.topics, (t) => t.sent),
  },
  {
    name: "dorgu_ws_messages_dropped_total",
    kind: "counter",
    help: "Events dropped per topic because a client's send buffer was full.",
    label: "topic",
    samples: (i) => perKey(i.topics, (t) => t.dropped),
  },
  {
    name: "dorgu_ws_ring_buffer_events",
    kind: "gauge",
    help: "Events held in each topic's ring buffer.",
    label: "topic",
    samples: (i) => perKey(i.topics, (t) => t.held),
  },
  {
    name: "dorgu_ws_ring_buffer_capacity",
    kind: "gauge",
    help: "Capacity of each topic's ring buffer.",
    label: "topic",
    samples: (i) => perKey(i.topics, (t) => t.capacity),
  },
  {
    name: "dorgu_ws_errors_total",
    kind: "counter",
    help: "Error replies sent, by code.",
    label: "code",
    samples: (i) => i.inbound.errors,
  },
  {
    name: "dorgu_ws_rate_limited_total",
    kind: "counter",
    help: "Client messages refused by the rate limit.",
    samples: (i) => i.inbound.rateLimited,
  },
  {
    name: "dorgu_ws_cache_objects",
    kind: "gauge",
    help: "Objects cached per resource.",
    label: "resource",
    samples: (i) => perKey(i.resources, (r) => r.objects),
  },
  {
    name: "dorgu_ws_resource_synced",
    kind: "gauge",
    help: "Whether each resource has completed its first list (1) or not (0).",
    label: "resource",
    samples: (i) => perKey(i.resources, (r) => r.synced ? 1 : 0),
  },
  {
    name: "dorgu_ws_projection_errors_total",
    kind: "counter",
    help:
      "Objects skipped per resource because they lacked the expected shape.",
    label: "resource",
    samples: (i) => perKey(i.resources, (r) => r.decodeErrors),
  },
  {
    name: "dorgu_ws_watch_restarts_total",
    kind: "counter",
    help: "Watches restarted per resource.",
    label: "resource",
    samples: (i) => perKey(i.watches, (w) => w.restarts),
  },
  {
    name: "dorgu_ws_watch_relists_total",
    kind: "counter",
    help: "Full relists per resource after the first list.",
    label: "resource",
    samples: (i) => perKey(i.watches, (w) => w.relists),
  },
  {
    name: "dorgu_ws_watch_decode_errors_total",
    kind: "counter",
    help: "Watch stream lines that could not be decoded, per resource.",
    label: "resource",
    samples: (i) => perKey(i.watches, (w) => w.decodeErrors),
  },
  {
    name: "process_resident_memory_bytes",
    kind: "gauge",
    help: "Resident memory size in bytes.",
    samples: () => Deno.memoryUsage().rss,
  },
  {
    name: "dorgu_ws_heap_used_bytes",
    kind: "gauge",
    help: "JavaScript heap in use.",
    samples: () => Deno.memoryUsage().heapUsed,
  },
];

/** Renders every metric. */
export function renderMetrics(input: MetricsInput): string {
  const out: string[] = [
    "# HELP dorgu_ws_build_info Build information.",
    "# TYPE dorgu_ws_build_info gauge",
    `dorgu_ws_build_info${formatLabels({ version: VERSION })} 1`,
  ];
  for (const family of FAMILIES) {
    out.push(
      `# HELP ${family.name} ${family.help}`,
      `# TYPE ${family.name} ${family.kind}`,
    );
    const samples = family.samples(input);
    if (typeof samples === "number") {
      out.push(`${family.name} ${samples}`);
      continue;
    }
    for (const [key, value] of samples) {
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
