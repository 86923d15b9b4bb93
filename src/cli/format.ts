/**
 * Human output: kubectl-like tables and one line per event, coloured on a
 * terminal unless NO_COLOR is set.
 */
import type {
  ClusterEvent,
  ClusterInfo,
  DeploymentEvent,
  DeploymentSummary,
  EventMessage,
  EventsTopicPayload,
  PersonaEvent,
  PersonaSummary,
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
  let noColor = false;
  try {
    noColor = (Deno.env.get("NO_COLOR") ?? "") !== "";
  } catch {
    noColor = false;
  }
  return { color: !noColor && Deno.stdout.isTerminal() };
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

/** A kubectl-style table: upper-case headers, columns three spaces apart. */
export function table(headers: string[], rows: string[][]): string {
  const widths = headers.map((header, i) =>
    Math.max(visible(header), ...rows.map((row) => visible(row[i] ?? "")))
  );
  const line = (cells: string[]) =>
    cells.map((cell, i) =>
      i === cells.length - 1
        ? cell
        : cell + " ".repeat(widths[i] - visible(cell) + 3)
    ).join("").trimEnd();
  return [line(headers), ...rows.map(line)].join("\n");
}

/** `get personas` as a table. */
export function personasTable(
  style: Style,
  personas: PersonaSummary[],
): string {
  return table(
    ["NAMESPACE", "NAME", "APP", "TYPE", "TIER", "PHASE", "HEALTH"],
    personas.map((p) => [
      p.namespace,
      p.name,
      p.appName,
      p.type,
      p.tier,
      status(style, p.phase),
      status(style, p.health),
    ]),
  );
}

/** `get cluster` as a table. */
export function clusterTable(style: Style, cluster: ClusterInfo): string {
  return table(
    [
      "NAME",
      "ENVIRONMENT",
      "PHASE",
      "VERSION",
      "PLATFORM",
      "NODES",
      "APPS",
      "ADDONS",
    ],
    [[
      cluster.name,
      cluster.environment,
      status(style, cluster.phase),
      cluster.kubernetesVersion,
      cluster.platform,
      String(cluster.nodeCount),
      String(cluster.applicationCount),
      cluster.addons.join(",") || "<none>",
    ]],
  );
}

/** `get deployments` as a table. */
export function deploymentsTable(
  style: Style,
  deployments: DeploymentSummary[],
): string {
  return table(
    [
      "NAMESPACE",
      "NAME",
      "READY",
      "UP-TO-DATE",
      "AVAILABLE",
      "ROLLOUT",
      "PERSONA",
      "IMAGES",
    ],
    deployments.map((d) => [
      d.namespace,
      d.name,
      `${d.readyReplicas}/${d.replicas}`,
      String(d.updatedReplicas),
      String(d.availableReplicas),
      status(style, d.rollout),
      d.persona ?? "<none>",
      d.images.join(","),
    ]),
  );
}

/** One watch line: the event's time (UTC, to the second), then what happened. */
export function eventLine(style: Style, message: EventMessage): string {
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
