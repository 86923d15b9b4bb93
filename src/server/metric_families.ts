/**
 * What `/metrics` reports: its inputs, and one table row per metric family
 * (name, type, help, label, the label values known up front, and how to
 * read the samples). Adding a metric is adding a row.
 *
 * @module
 */
import type { TopicStats } from "../hub/mod.ts";
import { ERROR_CODES, type Topic, TOPICS } from "../protocol/mod.ts";
import {
  type Resource,
  RESOURCES,
  type ResourceStats,
  type WatchStats,
} from "../sources/mod.ts";
import { CLOSE_CAUSES, SHED_REASONS } from "../transport/mod.ts";
import type { InboundStats } from "./inbound.ts";
import type { ProcessStats } from "./process_stats.ts";
import { HOST_REFUSAL } from "./routes.ts";
import type { TlsStats } from "./tls.ts";
import { type ConnectionStats, REFUSAL_REASONS } from "./upgrade.ts";

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
  /** Whether `/ready` answers 200. */
  ready: boolean;
  /** `--max-connections`. */
  maxConnections: number;
  /** The process's own figures. */
  process: ProcessStats;
  /** TLS renewals, when TLS is on. */
  tls?: TlsStats;
}

type Kind = "counter" | "gauge";

/** One metric family: name, type, help, and how to read its samples. */
export interface Family {
  name: string;
  kind: Kind;
  help: string;
  /** Label name, for families with one sample per key. */
  label?: string;
  /**
   * Label values known up front: each is reported from the start, at 0
   * until counted, so rules over them work before the first increment.
   */
  keys?: readonly string[];
  /** The samples; undefined leaves the family out (not measurable here). */
  samples: (input: MetricsInput) => Map<string, number> | number | undefined;
}

function processFamily(
  name: string,
  kind: Kind,
  options: { help: string; pick: (stats: ProcessStats) => number | undefined },
): Family {
  return {
    name,
    kind,
    help: options.help,
    samples: (i) => options.pick(i.process),
  };
}

function perKey<K extends string, T>(
  map: Map<K, T>,
  pick: (value: T) => number,
): Map<string, number> {
  return new Map([...map].map(([key, value]) => [key, pick(value)]));
}

/** Every metric family but the build info and the request histogram. */
export const FAMILIES: Family[] = [
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
    keys: SHED_REASONS,
    samples: (i) => i.transport.shed,
  },
  {
    name: "dorgu_ws_http_refused_total",
    kind: "counter",
    help: "Requests refused before any route, by reason (host).",
    label: "reason",
    keys: [HOST_REFUSAL],
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
    keys: REFUSAL_REASONS,
    samples: (i) => i.connections.rejected,
  },
  {
    name: "dorgu_ws_connections_closed_total",
    kind: "counter",
    help: "WebSocket connections ended, by cause.",
    label: "cause",
    keys: CLOSE_CAUSES,
    samples: (i) => i.connections.closed,
  },
  {
    name: "dorgu_ws_subscriptions",
    kind: "gauge",
    help: "Subscriptions per topic.",
    label: "topic",
    keys: TOPICS,
    samples: (i) => perKey(i.topics, (t) => t.subscribers),
  },
  {
    name: "dorgu_ws_events_published_total",
    kind: "counter",
    help: "Events published per topic.",
    label: "topic",
    keys: TOPICS,
    samples: (i) => perKey(i.topics, (t) => t.offset),
  },
  {
    name: "dorgu_ws_messages_sent_total",
    kind: "counter",
    help: "Event messages handed to clients per topic.",
    label: "topic",
    keys: TOPICS,
    samples: (i) => perKey(i.topics, (t) => t.sent),
  },
  {
    name: "dorgu_ws_messages_dropped_total",
    kind: "counter",
    help: "Events dropped per topic because a client's send buffer was full.",
    label: "topic",
    keys: TOPICS,
    samples: (i) => perKey(i.topics, (t) => t.dropped),
  },
  {
    name: "dorgu_ws_ring_buffer_events",
    kind: "gauge",
    help: "Events held in each topic's ring buffer.",
    label: "topic",
    keys: TOPICS,
    samples: (i) => perKey(i.topics, (t) => t.held),
  },
  {
    name: "dorgu_ws_ring_buffer_capacity",
    kind: "gauge",
    help: "Capacity of each topic's ring buffer.",
    label: "topic",
    keys: TOPICS,
    samples: (i) => perKey(i.topics, (t) => t.capacity),
  },
  {
    name: "dorgu_ws_errors_total",
    kind: "counter",
    help: "Error replies sent, by code.",
    label: "code",
    keys: ERROR_CODES,
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
    keys: RESOURCES,
    samples: (i) => perKey(i.resources, (r) => r.objects),
  },
  {
    name: "dorgu_ws_resource_synced",
    kind: "gauge",
    help: "Whether each resource has completed its first list (1) or not (0).",
    label: "resource",
    keys: RESOURCES,
    samples: (i) => perKey(i.resources, (r) => r.synced ? 1 : 0),
  },
  {
    name: "dorgu_ws_projection_errors_total",
    kind: "counter",
    help:
      "Objects skipped per resource because they lacked the expected shape.",
    label: "resource",
    keys: RESOURCES,
    samples: (i) => perKey(i.resources, (r) => r.decodeErrors),
  },
  {
    name: "dorgu_ws_watch_restarts_total",
    kind: "counter",
    help: "Watches restarted per resource.",
    label: "resource",
    keys: RESOURCES,
    samples: (i) => perKey(i.watches, (w) => w.restarts),
  },
  {
    name: "dorgu_ws_watch_relists_total",
    kind: "counter",
    help: "Full relists per resource after the first list.",
    label: "resource",
    keys: RESOURCES,
    samples: (i) => perKey(i.watches, (w) => w.relists),
  },
  {
    name: "dorgu_ws_watch_decode_errors_total",
    kind: "counter",
    help: "Watch stream lines that could not be decoded, per resource.",
    label: "resource",
    keys: RESOURCES,
    samples: (i) => perKey(i.watches, (w) => w.decodeErrors),
  },
  {
    name: "dorgu_ws_ready",
    kind: "gauge",
    help:
      "Whether the server is ready (1: /ready answers 200) or not (0: a first list is pending, or it is shutting down).",
    samples: (i) => i.ready ? 1 : 0,
  },
  {
    name: "dorgu_ws_max_connections",
    kind: "gauge",
    help: "WebSocket connections allowed at once (--max-connections).",
    samples: (i) => i.maxConnections,
  },
  {
    name: "dorgu_ws_memory_limit_bytes",
    kind: "gauge",
    help:
      "Memory the process may use: its cgroup's limit (the container's), or the machine's memory where that is less or there is none.",
    samples: (i) => i.process.memoryLimitBytes,
  },
  {
    name: "dorgu_ws_tls_reloads_total",
    kind: "counter",
    help:
      "Changed TLS certificate files, by result: renewed (served from then on) or failed (the previous pair kept serving).",
    label: "result",
    keys: ["renewed", "failed"],
    samples: (i) =>
      i.tls &&
      new Map([["renewed", i.tls.renewed], ["failed", i.tls.failed]]),
  },
  {
    name: "dorgu_ws_tls_certificate_expiry_timestamp_seconds",
    kind: "gauge",
    help: "When the TLS certificate served expires, seconds since the epoch.",
    samples: (i) => i.tls?.expiresAt,
  },
  // Prometheus' standard process family, as every client library names it.
  processFamily("process_cpu_seconds_total", "counter", {
    help: "CPU time used, user and system, in seconds.",
    pick: (p) => p.cpuSeconds,
  }),
  processFamily("process_start_time_seconds", "gauge", {
    help: "When the process started, in seconds since the Unix epoch.",
    pick: (p) => p.startTimeSeconds,
  }),
  processFamily("process_open_fds", "gauge", {
    help: "File descriptors open now.",
    pick: (p) => p.openFds,
  }),
  processFamily("process_max_fds", "gauge", {
    help: "The open-file limit (soft).",
    pick: (p) => p.maxFds,
  }),
  processFamily("process_resident_memory_bytes", "gauge", {
    help: "Resident memory, in bytes.",
    pick: (p) => p.residentBytes,
  }),
  processFamily("process_virtual_memory_bytes", "gauge", {
    help: "Virtual memory, in bytes.",
    pick: (p) => p.virtualBytes,
  }),
  {
    name: "dorgu_ws_heap_used_bytes",
    kind: "gauge",
    help: "JavaScript heap in use.",
    samples: () => Deno.memoryUsage().heapUsed,
  },
];
