/**
 * The page's filters and sort, kept in the URL's query so that a link
 * reproduces a view: `?ns=production&health=Unhealthy&q=pay&sort=-name`
 * for personas (and deployments), `etype`, `ereason`, `ens`, `epersona`
 * for the event log. Also what each state means: how bad a health or
 * phase is, and the tone it is drawn in.
 *
 * @module
 */
import type {
  DeploymentSummary,
  EventView,
  PersonaSummary,
} from "../protocol/mod.ts";

/** Every filter, by its URL parameter. */
export interface Filters {
  /** Personas and deployments: namespace. */
  ns: string;
  /** Personas: health. */
  health: string;
  /** Personas: phase. */
  phase: string;
  /** Personas and deployments: text in a name, app, type or tier. */
  q: string;
  /** Personas: sort column, `-` first for descending. */
  sort: string;
  /** Events: Normal or Warning. */
  etype: string;
  /** Events: reason. */
  ereason: string;
  /** Events: namespace. */
  ens: string;
  /** Events: the persona they concern. */
  epersona: string;
}

/** The view a bare URL shows: trouble first. */
export const DEFAULT_FILTERS: Filters = {
  ns: "",
  health: "",
  phase: "",
  q: "",
  sort: "health",
  etype: "",
  ereason: "",
  ens: "",
  epersona: "",
};

/** Columns personas sort by. */
export const SORT_KEYS = [
  "name",
  "app",
  "type",
  "tier",
  "phase",
  "health",
] as const;

/** Reads filters from a query string; unknown values are kept as typed. */
export function readFilters(search: string): Filters {
  const params = new URLSearchParams(search);
  const filters = { ...DEFAULT_FILTERS };
  for (const name of Object.keys(filters) as (keyof Filters)[]) {
    const value = params.get(name);
    if (value !== null) filters[name] = value.slice(0, 200);
  }
  const key = filters.sort.replace(/^-/, "");
  if (!(SORT_KEYS as readonly string[]).includes(key)) {
    filters.sort = DEFAULT_FILTERS.sort;
  }
  return filters;
}

/** The query string for `filters`, without the defaults ("" for none). */
export function writeFilters(filters: Filters): string {
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(filters)) {
    if (value !== DEFAULT_FILTERS[name as keyof Filters]) {
      params.set(name, value);
    }
  }
  const query = params.toString();
  return query ? `?${query}` : "";
}

/** The health values always offered and counted, worst first, even at zero. */
export const HEALTHS = ["Unhealthy", "Degraded", "Unknown", "Healthy"];

const HEALTH_RANK: Record<string, number> = {
  Unhealthy: 0,
  Degraded: 1,
  Healthy: 3,
};
const PHASE_RANK: Record<string, number> = {
  Failed: 0,
  Degraded: 1,
  Pending: 2,
  Active: 4,
};

/** How bad a health is: 0 is worst; unknown values sit before Healthy. */
export function healthRank(health: string): number {
  return HEALTH_RANK[health] ?? 2;
}

/** How bad a phase is: 0 is worst; unknown values sit before Active. */
export function phaseRank(phase: string): number {
  return PHASE_RANK[phase] ?? 3;
}

/** The colour family a value is drawn in; the text always says it too. */
export type Tone = "good" | "warn" | "bad" | "info" | "unknown";

const TONES: Record<string, Tone> = {
  Healthy: "good",
  Active: "good",
  Ready: "good",
  complete: "good",
  Normal: "good",
  Degraded: "warn",
  Warning: "warn",
  Unhealthy: "bad",
  Failed: "bad",
  failed: "bad",
  NotReady: "bad",
  Pending: "info",
  progressing: "info",
  Discovering: "info",
};

/** The tone of a health, phase, rollout or event type. */
export function toneOf(value: string): Tone {
  return TONES[value] ?? "unknown";
}

/** Whether a persona passes the persona filters. */
export function personaMatches(p: PersonaSummary, f: Filters): boolean {
  if (f.ns && p.namespace !== f.ns) return false;
  if (f.health && p.health !== f.health) return false;
  if (f.phase && p.phase !== f.phase) return false;
  if (f.q) {
    const q = f.q.toLowerCase();
    return [p.name, p.appName, p.namespace, p.type, p.tier].some((field) =>
      field.toLowerCase().includes(q)
    );
  }
  return true;
}

/** Whether a deployment passes the namespace and text filters. */
export function deploymentMatches(d: DeploymentSummary, f: Filters): boolean {
  if (f.ns && d.namespace !== f.ns) return false;
  if (f.q) {
    const q = f.q.toLowerCase();
    return [d.name, d.namespace, d.persona ?? "", ...d.images].some((field) =>
      field.toLowerCase().includes(q)
    );
  }
  return true;
}

const compareText = (a: string, b: string) => a < b ? -1 : a > b ? 1 : 0;

const SORTERS: Record<
  string,
  (a: PersonaSummary, b: PersonaSummary) => number
> = {
  name: (a, b) => compareText(a.name, b.name),
  app: (a, b) => compareText(a.appName, b.appName),
  type: (a, b) => compareText(a.type, b.type),
  tier: (a, b) => compareText(a.tier, b.tier),
  phase: (a, b) => phaseRank(a.phase) - phaseRank(b.phase),
  health: (a, b) => healthRank(a.health) - healthRank(b.health),
};

/**
 * Sorts personas in place, grouped by namespace, by `sort` within each
 * namespace (then by name).
 */
export function sortPersonas(
  personas: PersonaSummary[],
  sort: string,
): PersonaSummary[] {
  const descending = sort.startsWith("-");
  const by = SORTERS[sort.replace(/^-/, "")] ?? SORTERS.health;
  return personas.sort((a, b) =>
    compareText(a.namespace, b.namespace) ||
    (descending ? by(b, a) : by(a, b)) || compareText(a.name, b.name)
  );
}

/**
 * Whether an event passes the event filters. The persona filter takes a
 * persona's name and matches its validation results, Events about it,
 * and Events about objects named after its app (its Deployment, their
 * ReplicaSets and Pods: `app`, `app-7d9f8b6c4`, `app-7d9f8b6c4-x2kqp`).
 */
export function eventMatches(
  e: EventView,
  f: Filters,
  appOf: (namespace: string, persona: string) => string | undefined,
): boolean {
  if (f.etype && e.type !== f.etype) return false;
  if (f.ereason && e.reason !== f.ereason) return false;
  if (f.ens && e.namespace !== f.ens) return false;
  if (f.epersona) {
    const object = e.object.name;
    if (e.object.kind === "ApplicationPersona") return object === f.epersona;
    const app = appOf(e.namespace, f.epersona) ?? f.epersona;
    return object === app || object.startsWith(`${app}-`);
  }
  return true;
}
