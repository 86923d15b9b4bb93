/**
 * Human output: kubectl-like tables and one line per event, coloured on a
 * terminal unless NO_COLOR is set.
 *
 * @module
 */
import { readEnv } from "../flags.ts";
import { printable } from "./output.ts";
import type {
  ClusterEvent,
  ClusterInfo,
  DeploymentEvent,
  DeploymentSummary,
  EventMessage,
  EventsTopicPayload,
  EventView,
  PersonaEvent,
  PersonaSummary,
  Topic,
} from "../protocol/mod.ts";

/** Whether output is coloured. */
export interface Style {
  /** Colour on. */
  color: boolean;
}

const CODES = {
  red: 31,
  green: 32,
  yellow: 33,
  cyan: 36,
  dim: 2,
  bold: 1,
} as const;

type Tone = keyof typeof CODES;

const TONES: Record<string, Tone> = {
  Active: "green",
  Ready: "green",
  Healthy: "green",
  complete: "green",
  created: "green",
  nodeAdded: "green",
  passed: "green",
  Degraded: "yellow",
  updated: "yellow",
  progressing: "cyan",
  Pending: "cyan",
  Discovering: "cyan",
  Warning: "yellow",
  Failed: "red",
  Unhealthy: "red",
  failed: "red",
  deleted: "red",
  nodeRemoved: "red",
  error: "red",
  Unknown: "dim",
};

/** Colour on a terminal, unless NO_COLOR is set (https://no-color.org). */
export function detectStyle(): Style {
  return { color: !readEnv("NO_COLOR") && Deno.stdout.isTerminal() };
}

function paint(style: Style, text: string, tone?: Tone): string {
  if (!style.color || !tone || text === "") return text;
  return `\x1b[${CODES[tone]}m${text}\x1b[0m`;
}

/** Colours a status word by its meaning (Active green, Failed red...). */
export function status(style: Style, text: string): string {
  return paint(style, text, TONES[text]);
}

function visible(text: string): number {
  // deno-lint-ignore no-control-regex
  return text.replace(/\x1b\[[0-9;]*m/g, "").length;
}

/** One column of a `get` table. */
export interface Column<T> {
  /** The upper-case header. */
  header: string;
  /** The cell for `item`. */
  cell: (item: T, style: Style) => string;
}

/** What a `get` table shows. */
export interface TableOptions {
  /** `-o wide`: the extra columns too. */
  wide: boolean;
  /** The NAMESPACE column: shown unless one namespace was asked for. */
  namespace: boolean;
}

const PERSONA_COLUMNS: Column<PersonaSummary>[] = [
  { header: "NAME", cell: (p) => p.name },
  { header: "APP", cell: (p) => p.appName },
  { header: "TYPE", cell: (p) => p.type },
  { header: "TIER", cell: (p) => p.tier },
  { header: "PHASE", cell: (p, style) => status(style, p.phase) },
  { header: "HEALTH", cell: (p, style) => status(style, p.health) },
];

const CLUSTER_COLUMNS: Column<ClusterInfo>[] = [
  { header: "NAME", cell: (c) => c.name },
  { header: "ENVIRONMENT", cell: (c) => c.environment },
  { header: "PHASE", cell: (c, style) => status(style, c.phase) },
  { header: "VERSION", cell: (c) => c.kubernetesVersion },
  { header: "PLATFORM", cell: (c) => c.platform },
  { header: "NODES", cell: (c) => String(c.nodeCount) },
  { header: "APPS", cell: (c) => String(c.applicationCount) },
  { header: "ADDONS", cell: (c) => c.addons.join(",") || "<none>" },
];

const DEPLOYMENT_COLUMNS: Column<DeploymentSummary>[] = [
  { header: "NAME", cell: (d) => d.name },
  { header: "READY", cell: (d) => `${d.readyReplicas}/${d.replicas}` },
  { header: "UP-TO-DATE", cell: (d) => String(d.updatedReplicas) },
  { header: "AVAILABLE", cell: (d) => String(d.availableReplicas) },
  { header: "ROLLOUT", cell: (d, style) => status(style, d.rollout) },
  { header: "PERSONA", cell: (d) => d.persona ?? "<none>" },
];

const DEPLOYMENT_WIDE: Column<DeploymentSummary>[] = [
  { header: "IMAGES", cell: (d) => d.images.join(",") },
];

const EVENT_COLUMNS: Column<EventView>[] = [
  {
    header: "LAST SEEN",
    cell: (e) => e.lastSeen ? age(e.lastSeen) : "<unknown>",
  },
  { header: "TYPE", cell: (e, style) => status(style, e.type) },
  { header: "REASON", cell: (e) => e.reason },
  {
    header: "OBJECT",
    cell: (e) => `${e.object.kind}/${e.object.name}`,
  },
  { header: "MESSAGE", cell: (e) => e.message },
];

const EVENT_WIDE: Column<EventView>[] = [
  { header: "COUNT", cell: (e) => String(e.count) },
  { header: "NAME", cell: (e) => e.name || "<none>" },
];

const NAMESPACE: Column<{ namespace: string }> = {
  header: "NAMESPACE",
  cell: (item) => item.namespace,
};

/** The columns `get TOPIC` prints. */
export function columnsFor(
  topic: Topic,
  options: TableOptions,
): Column<never>[] {
  const namespace = options.namespace ? [NAMESPACE] : [];
  switch (topic) {
    case "personas":
      return [...namespace, ...PERSONA_COLUMNS];
    case "cluster":
      return CLUSTER_COLUMNS;
    case "deployments":
      return [
        ...namespace,
        ...DEPLOYMENT_COLUMNS,
        ...(options.wide ? DEPLOYMENT_WIDE : []),
      ];
    case "events":
      return [
        ...namespace,
        ...EVENT_COLUMNS,
        ...(options.wide ? EVENT_WIDE : []),
      ];
  }
}

/**
 * A kubectl-style table: upper-case headers, columns three spaces apart.
 * The widths are fixed by the first rows it prints, so rows printed later
 * (`get -w`) line up under them, as far as they fit.
 */
export class TableWriter<T> {
  readonly #columns: Column<T>[];
  readonly #style: Style;
  #widths: number[] = [];

  /** Creates a table of `columns`. */
  constructor(columns: Column<T>[], style: Style) {
    this.#columns = columns;
    this.#style = style;
  }

  /** The lines for `items`, with the header line first unless `headers` is false. */
  lines(items: T[], options: { headers: boolean }): string[] {
    const rows = items.map((item) => this.#cells(item));
    const header = this.#columns.map((column) => column.header);
    this.#widths = header.map((text, i) =>
      Math.max(
        this.#widths[i] ?? 0,
        visible(text),
        ...rows.map((row) => visible(row[i])),
      )
    );
    return [...(options.headers ? [header] : []), ...rows].map((row) =>
      this.#line(row)
    );
  }

  /** One more row, lined up under the earlier ones. */
  row(item: T): string {
    return this.#line(this.#cells(item));
  }

  // The item's strings are the server's (the cluster's): escaped before
  // any colour of this program's own is added.
  #cells(item: T): string[] {
    const shown = printable(item);
    return this.#columns.map((column) => column.cell(shown, this.#style));
  }

  #line(cells: string[]): string {
    return cells.map((cell, i) =>
      i === cells.length - 1 ? cell : cell +
        " ".repeat(Math.max(0, (this.#widths[i] ?? 0) - visible(cell)) + 3)
    ).join("").trimEnd();
  }
}

/**
 * How long ago `time` was, as kubectl prints ages: `45s`, `3m12s`, `5h`,
 * `12d`.
 */
export function age(time: string, now: number = Date.now()): string {
  const at = Date.parse(time);
  if (Number.isNaN(at)) return "<unknown>";
  const seconds = Math.max(0, Math.floor((now - at) / 1000));
  const minutes = Math.floor(seconds / 60);
  const hours = Math.floor(minutes / 60);
  const days = Math.floor(hours / 24);
  if (seconds < 120) return `${seconds}s`;
  if (minutes < 10) {
    return `${minutes}m${seconds % 60 ? `${seconds % 60}s` : ""}`;
  }
  if (hours < 3) return `${minutes}m`;
  if (hours < 8) return `${hours}h${minutes % 60 ? `${minutes % 60}m` : ""}`;
  if (hours < 48) return `${hours}h`;
  if (days < 8) return `${days}d${hours % 24 ? `${hours % 24}h` : ""}`;
  if (days < 730) return `${days}d`;
  const years = Math.floor(days / 365);
  return days % 365 && years < 8 ? `${years}y${days % 365}d` : `${years}y`;
}

/** One watch line: the event's time (UTC, to the second), then what happened. */
export function eventLine(style: Style, said: EventMessage): string {
  const message = printable(said);
  const time = paint(style, message.timestamp.replace(/\.\d+Z$/, "Z"), "dim");
  return `${time}  ${describe(style, message)}`;
}

function describe(style: Style, message: EventMessage): string {
  switch (message.topic) {
    case "personas": {
      const e = message.payload as PersonaEvent;
      return `${
        status(style, e.eventType).padEnd(label(style, e.eventType, 8))
      }  ${e.namespace}/${e.name}  phase=${
        status(style, e.phase || "-")
      } health=${status(style, e.health || "-")}`;
    }
    case "cluster": {
      const e = message.payload as ClusterEvent;
      const what = e.node ? `  node=${e.node}` : e.deleted ? "  (deleted)" : "";
      return `${
        status(style, e.eventType).padEnd(label(style, e.eventType, 11))
      }  ${e.name}${what}  phase=${
        status(style, e.phase || "-")
      } nodes=${e.nodeCount} apps=${e.applicationCount}`;
    }
    case "deployments": {
      const e = message.payload as DeploymentEvent;
      return `${
        status(style, e.eventType).padEnd(label(style, e.eventType, 8))
      }  ${e.namespace}/${e.name}  ready=${e.readyReplicas}/${e.replicas} rollout=${
        status(style, e.rollout)
      }${e.persona ? ` persona=${e.persona}` : ""}  ${e.images.join(",")}`;
    }
    case "events": {
      const e = message.payload as EventsTopicPayload;
      if (e.kind === "validation") {
        const verdict = e.passed
          ? status(style, "passed")
          : paint(style, "failed", "red");
        const issues = e.issues.length ? `: ${e.issues.join("; ")}` : "";
        const count = `${e.issueCount} issue${e.issueCount === 1 ? "" : "s"}`;
        return `${
          "validation".padEnd(10)
        }  ${e.namespace}/${e.name}  ${verdict} (${count}, highest ${
          status(style, e.severity)
        })${issues}`;
      }
      const times = e.count > 1 ? ` (x${e.count})` : "";
      return `${
        status(style, e.type).padEnd(label(style, e.type, 10))
      }  ${e.namespace}/${e.involvedObject.kind}/${e.involvedObject.name}  ${e.reason}: ${e.message}${times}`;
    }
  }
}

// padEnd counts colour codes as characters; widen the pad by their length.
function label(style: Style, text: string, width: number): number {
  return width + status(style, text).length - text.length;
}
