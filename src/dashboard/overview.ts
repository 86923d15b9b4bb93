/**
 * The top of the page: the cluster (name, environment, phase, version,
 * platform, nodes, applications, addons) and what needs attention:
 * personas counted by health and phase, rollouts by state, events by
 * type. Each health count is a button that filters the table to it.
 *
 * @module
 */
import { type Child, fillSlots, h } from "./dom.ts";
import type { Filters } from "./filters.ts";
import { healthRank, HEALTHS, phaseRank, toneOf } from "./filters.ts";
import { badge, count, number } from "./format.ts";
import * as model from "./model.ts";

const drawn = new WeakMap<Element, string>();

/** How many node names the card lists before "and N more". */
const NODES_SHOWN = 24;

/**
 * Draws the cluster card into `root`: its markup is the page's, in one part
 * per state (`data-state`: loading, none, shown) with a `data-slot` for each
 * value.
 */
export function renderCluster(root: HTMLElement): void {
  const cluster = model.cluster;
  root.dataset.state = !model.listed.has("cluster")
    ? "loading"
    : cluster
    ? "shown"
    : "none";
  if (!cluster) return;
  const nodes = cluster.nodes ?? [];
  const shown = nodes.slice(0, NODES_SHOWN);
  const slots = {
    name: cluster.name,
    phase: badge(cluster.phase),
    environment: cluster.environment,
    version: cluster.kubernetesVersion || "unknown",
    platform: cluster.platform || "unknown",
    nodeCount: number(cluster.nodeCount),
    applications: number(cluster.applicationCount),
    nodesTitle: count(cluster.nodeCount, "node"),
    nodes: [
      shown.map((node) => h("li", null, node)),
      nodes.length > shown.length &&
      h("li", { class: "muted" }, `and ${nodes.length - shown.length} more`),
    ],
    addons: cluster.addons.map((addon) => h("li", { class: "chip" }, addon)),
  };
  fillSlots(root, slots);
}

/**
 * Draws the counts into `root`'s slots: personas by health (each count
 * toggles the health filter) and phase, rollouts by state, events held by
 * type.
 */
export function renderSummary(
  root: Element,
  options: {
    filters: Filters;
    setFilters: (patch: Partial<Filters>) => void;
  },
): void {
  const { filters, setFilters } = options;
  const byHealth = new Map<string, number>(HEALTHS.map((name) => [name, 0]));
  const byPhase = new Map<string, number>();
  const namespaces = new Set<string>();
  for (const persona of model.personas.values()) {
    const health = persona.health || "Unknown";
    byHealth.set(health, (byHealth.get(health) ?? 0) + 1);
    const phase = persona.phase || "Unknown";
    byPhase.set(phase, (byPhase.get(phase) ?? 0) + 1);
    namespaces.add(persona.namespace);
  }
  const healths = [...byHealth.keys()].sort((a, b) =>
    healthRank(a) - healthRank(b) || HEALTHS.indexOf(a) - HEALTHS.indexOf(b)
  );
  const rollouts = tally(
    [...model.deployments.values()].map((d) => d.rollout),
    ["failed", "progressing", "complete"],
  );
  const types = tally(model.events.map((e) => e.view.type), [
    "Warning",
    "Normal",
  ]);
  // Redrawn only when a count or the chosen filter changed: most events
  // change neither.
  const signature = JSON.stringify([
    model.personas.size,
    namespaces.size,
    [...byHealth],
    [...byPhase],
    rollouts,
    types,
    filters.health,
  ]);
  if (drawn.get(root) === signature) return;
  drawn.set(root, signature);
  // A count pressed from the keyboard keeps the focus across the redraw.
  const focused = root.contains(document.activeElement)
    ? (document.activeElement as HTMLElement).dataset.health
    : undefined;
  fillSlots(root, {
    total: [
      h("strong", null, number(model.personas.size)),
      ` ${model.personas.size === 1 ? "persona" : "personas"} in `,
      count(namespaces.size, "namespace"),
    ],
    tiles: healths.map((health) => {
      const n = byHealth.get(health) ?? 0;
      const pressed = filters.health === health;
      return h(
        "li",
        null,
        h(
          "button",
          {
            type: "button",
            class: `tile tone-${toneOf(health)}${n === 0 ? " zero" : ""}`,
            "aria-pressed": pressed ? "true" : "false",
            "data-health": health,
            title: pressed
              ? "Show every health again"
              : `Show only ${health} personas`,
            onclick: () => setFilters({ health: pressed ? "" : health }),
          },
          h("span", { class: "tile-count" }, number(n)),
          h("span", { class: "tile-label" }, health),
        ),
      );
    }),
    phases: tallied(
      [...byPhase].sort((a, b) => phaseRank(a[0]) - phaseRank(b[0])),
    ),
    rollouts: tallied(rollouts),
    held: tallied(types),
  });
  if (focused !== undefined) {
    root.querySelector<HTMLElement>(`[data-health="${CSS.escape(focused)}"]`)
      ?.focus();
  }
}

// Values counted, in the order given first (at zero too), then the rest.
function tally(values: string[], order: string[]): [string, number][] {
  const counts = new Map<string, number>(order.map((value) => [value, 0]));
  for (const value of values) counts.set(value, (counts.get(value) ?? 0) + 1);
  return [...counts];
}

// The counts above zero as badges, or "none".
function tallied(counts: [string, number][]): Child {
  const shown = counts.filter(([, n]) => n > 0);
  return shown.length
    ? shown.map(([value, n]) => badge(value, `${number(n)} ${value}`))
    : h("span", { class: "muted" }, "none");
}
