/**
 * The top of the page: the cluster (name, environment, phase, version,
 * platform, nodes, applications, addons) and what needs attention:
 * personas counted by health and phase, rollouts by state, events by
 * type. Each health count is a button that filters the table to it.
 *
 * @module
 */
import { h, replaceChildren } from "./dom.ts";
import type { Filters } from "./filters.ts";
import { healthRank, phaseRank, toneOf } from "./filters.ts";
import { badge, count, number } from "./format.ts";
import * as model from "./model.ts";

const drawn = new WeakMap<Element, string>();

/** The health values always shown, worst first, even at zero. */
const HEALTHS = ["Unhealthy", "Degraded", "Unknown", "Healthy"];

/** How many node names the card lists before "and N more". */
const NODES_SHOWN = 24;

/** Draws the cluster card into `root`. */
export function renderCluster(root: Element): void {
  const cluster = model.cluster;
  if (!model.listed.has("cluster")) {
    replaceChildren(root, h("p", { class: "muted" }, "Loading the cluster..."));
    return;
  }
  if (!cluster) {
    replaceChildren(
      root,
      h("h2", { class: "cluster-name" }, "No cluster yet"),
      h(
        "p",
        { class: "muted" },
        "No ClusterPersona exists: the dorgu operator creates one when it discovers the cluster.",
      ),
    );
    return;
  }
  const nodes = cluster.nodes ?? [];
  const shown = nodes.slice(0, NODES_SHOWN);
  replaceChildren(
    root,
    h(
      "div",
      { class: "cluster-head" },
      h("h2", { class: "cluster-name" }, cluster.name),
      badge(cluster.phase),
      cluster.environment &&
        h("span", { class: "chip" }, cluster.environment),
    ),
    h(
      "dl",
      { class: "facts" },
      fact("Kubernetes", cluster.kubernetesVersion || "unknown"),
      fact("Platform", cluster.platform || "unknown"),
      fact("Nodes", number(cluster.nodeCount)),
      fact("Applications", number(cluster.applicationCount)),
    ),
    h(
      "div",
      { class: "cluster-lists" },
      h(
        "div",
        null,
        h("h3", null, count(cluster.nodeCount, "node")),
        shown.length
          ? h(
            "ul",
            { class: "nodes", "aria-label": "Nodes" },
            shown.map((node) => h("li", null, node)),
            nodes.length > shown.length &&
              h(
                "li",
                { class: "muted" },
                `and ${nodes.length - shown.length} more`,
              ),
          )
          : h("p", { class: "muted" }, "No nodes reported."),
      ),
      h(
        "div",
        null,
        h("h3", null, "Addons"),
        cluster.addons.length
          ? h(
            "ul",
            { class: "chips", "aria-label": "Addons installed" },
            cluster.addons.map((addon) => h("li", { class: "chip" }, addon)),
          )
          : h("p", { class: "muted" }, "None installed."),
      ),
    ),
  );
}

function fact(term: string, value: string): HTMLElement[] {
  return [h("dt", null, term), h("dd", null, value)];
}

/**
 * Draws the counts into `root`: personas by health (each count toggles
 * the health filter) and phase, rollouts by state, events held by type.
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
  replaceChildren(
    root,
    h(
      "p",
      { class: "total" },
      h("strong", null, number(model.personas.size)),
      ` ${model.personas.size === 1 ? "persona" : "personas"} in `,
      count(namespaces.size, "namespace"),
    ),
    h(
      "ul",
      { class: "tiles", "aria-label": "Personas by health" },
      healths.map((health) => {
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
    ),
    h(
      "dl",
      { class: "tallies" },
      tallyLine(
        "Phases",
        [...byPhase].sort((a, b) => phaseRank(a[0]) - phaseRank(b[0])),
      ),
      tallyLine("Rollouts", rollouts),
      tallyLine("Events held", types),
    ),
  );
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

function tallyLine(term: string, counts: [string, number][]): HTMLElement[] {
  const shown = counts.filter(([, n]) => n > 0);
  return [
    h("dt", null, term),
    h(
      "dd",
      null,
      shown.length
        ? shown.map(([value, n]) => badge(value, `${number(n)} ${value}`))
        : h("span", { class: "muted" }, "none"),
    ),
  ];
}
