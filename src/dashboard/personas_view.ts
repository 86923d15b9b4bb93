/**
 * The personas table: grouped by namespace (one `<tbody>` each, headed by
 * the namespace and its trouble), sorted within each group by the column
 * the user picked (trouble first by default), filtered by namespace,
 * health, phase and text. A persona's validation opens on demand in a row
 * below it. At most {@link PAGE} rows are drawn at a time, so thousands of
 * personas never cost one long task.
 *
 * @module
 */
import type { PersonaSummary } from "../protocol/mod.ts";
import { h, patchRows, ROWS_PER_FRAME, setText } from "./dom.ts";
import {
  type Filters,
  healthRank,
  personaMatches,
  phaseRank,
  sortPersonas,
} from "./filters.ts";
import { badge, count, number } from "./format.ts";
import * as model from "./model.ts";
import { keyOf, type ValidationSummary } from "./model.ts";

/** Rows drawn before "Show more". */
export const PAGE = 100;

type Detail = "loading" | "shown" | { error: string };

// A row of a namespace's group, and how to build it.
interface Row {
  key: string;
  signature: string;
  draw: () => Element;
}

/** What the table needs from the page. */
export interface PersonasContext {
  /** Changes filters (and the URL). */
  setFilters: (patch: Partial<Filters>) => void;
  /** Asks the server for one persona, validation included. */
  loadPersona: (key: string) => Promise<void>;
  /** Draws the table again (rows opened or added). */
  redraw: () => void;
}

/** The parts of the page the personas section draws into. */
export interface PersonasParts {
  /** The table; its head, a sort button per sortable column, is the page's. */
  table: HTMLTableElement;
  /** Gets the counts line. */
  summary: Element;
  /** The "Show more" button. */
  more: HTMLElement;
}

// One personas table per page: its state is this module's.
let table: HTMLTableElement;
let head: HTMLTableSectionElement;
let summary: Element;
let more: HTMLElement;
let context: PersonasContext;
// Cells a full-width row spans: the head's columns.
let columns = 0;
// The head's cells of the columns that sort.
let sortable: HTMLElement[] = [];
// Personas whose validation row is open, and what it shows.
const details = new Map<string, Detail>();
let limit = PAGE;
let current: Filters | undefined;

/**
 * The personas section: wires the head's sort buttons and "Show more", and
 * returns what draws the table for a set of filters (false when rows wait
 * for the next frame).
 */
export function personasView(
  parts: PersonasParts,
  page: PersonasContext,
): (filters: Filters) => boolean {
  ({ table, summary, more } = parts);
  context = page;
  head = table.tHead as HTMLTableSectionElement;
  columns = head.rows[0].cells.length;
  sortable = [...head.querySelectorAll<HTMLElement>("th[data-sort]")];
  for (const th of sortable) {
    th.querySelector("button")?.addEventListener("click", () => {
      const key = th.dataset.sort as string;
      context.setFilters({ sort: current?.sort === key ? `-${key}` : key });
    });
  }
  more.addEventListener("click", () => {
    limit += PAGE;
    context.redraw();
  });
  return render;
}

function render(filters: Filters): boolean {
  if (current && !sameFilters(current, filters)) limit = PAGE;
  current = filters;
  for (const th of sortable) {
    if (filters.sort.replace(/^-/, "") === th.dataset.sort) {
      th.setAttribute(
        "aria-sort",
        filters.sort.startsWith("-") ? "descending" : "ascending",
      );
    } else th.removeAttribute("aria-sort");
  }
  const matching = sortPersonas(
    [...model.personas.values()].filter((p) => personaMatches(p, filters)),
    filters.sort,
  );
  const shown = matching.slice(0, limit);
  const complete = drawGroups(shown);
  const total = model.personas.size;
  // Until the first listing, the page's own words: loading.
  if (model.listed.has("personas")) {
    setText(
      summary,
      total === 0
        ? "No ApplicationPersonas in this cluster."
        : matching.length === 0
        ? `None of the ${count(total, "persona")} match the filters.`
        : matching.length > shown.length
        ? `Showing ${number(shown.length)} of ${
          count(matching.length, "matching persona")
        } (${number(total)} in all).`
        : matching.length === total
        ? `Showing all ${count(total, "persona")}.`
        : `Showing ${number(matching.length)} of ${count(total, "persona")}.`,
    );
  }
  more.hidden = matching.length <= shown.length;
  setText(
    more,
    `Show ${number(Math.min(PAGE, matching.length - shown.length))} more`,
  );
  return complete;
}

// One <tbody> per namespace, then each group's rows within the frame's
// budget; false when rows wait for the next frame.
function drawGroups(shown: PersonaSummary[]): boolean {
  const groups = new Map<string, PersonaSummary[]>();
  for (const persona of shown) {
    const group = groups.get(persona.namespace) ?? [];
    group.push(persona);
    groups.set(persona.namespace, group);
  }
  patchRows(
    table,
    [...groups.keys()].map((namespace) => ({ key: namespace, signature: "" })),
    {
      after: head,
      render: (group) =>
        h("tbody", {
          "aria-label": `Namespace ${group.key}`,
          "data-namespace": group.key,
        }),
    },
  );
  const budget = { left: ROWS_PER_FRAME };
  let complete = true;
  for (const tbody of table.tBodies) {
    const namespace = tbody.dataset.namespace ?? "";
    const rows = rowsOf(namespace, groups.get(namespace) ?? []);
    complete = patchRows(tbody, rows, {
      render: (row) => row.draw(),
      budget,
    }) &&
      complete;
  }
  return complete;
}

function rowsOf(namespace: string, personas: PersonaSummary[]): Row[] {
  const label = groupLabel(personas);
  const rows: Row[] = [{
    key: "#group",
    signature: label,
    draw: () => groupRow(namespace, label),
  }];
  for (const persona of personas) {
    const key = keyOf(persona);
    const detail = details.get(key);
    const validation = model.validations.get(key);
    rows.push({
      key,
      signature: JSON.stringify([persona, !!detail, validation]),
      draw: () => personaRow(persona, key),
    });
    if (detail) {
      rows.push({
        key: `${key}#detail`,
        signature: JSON.stringify([detail, persona.validation]),
        draw: () =>
          h(
            "tr",
            { class: "detail", id: detailId(key) },
            h("td", { colspan: columns }, detailOf(detail, persona)),
          ),
      });
    }
  }
  return rows;
}

function groupRow(namespace: string, label: string): Element {
  return h(
    "tr",
    { class: "group" },
    h(
      "th",
      { colspan: columns, scope: "rowgroup" },
      h("span", { class: "group-name" }, namespace),
      h("span", { class: "group-count" }, label),
    ),
  );
}

function personaRow(persona: PersonaSummary, key: string): Element {
  return h(
    "tr",
    { class: `persona tone-row-${rowTone(persona)}` },
    h(
      "th",
      { scope: "row" },
      h("span", { class: "name" }, persona.name),
      persona.appName && persona.appName !== persona.name &&
        h("span", { class: "app" }, ` (app ${persona.appName})`),
    ),
    h("td", null, persona.type || "-"),
    h("td", null, persona.tier || "-"),
    h("td", null, badge(persona.phase)),
    h("td", null, badge(persona.health)),
    h("td", null, validationButton(key)),
  );
}

// Opens and closes a persona's validation row; says so to assistive tech.
function validationButton(key: string): Element {
  const open = details.has(key);
  const result = describeValidation(model.validations.get(key));
  return h(
    "button",
    {
      type: "button",
      class: `validation tone-${result.tone}`,
      "aria-expanded": open ? "true" : "false",
      "aria-controls": open ? detailId(key) : undefined,
      "aria-label": `${
        open ? "Hide" : "Show"
      } validation of ${key} (${result.label})`,
      onclick: () => toggle(key),
    },
    result.label,
  );
}

async function toggle(key: string): Promise<void> {
  if (details.has(key)) {
    details.delete(key);
    model.pinned.delete(key);
    context.redraw();
    return;
  }
  details.set(key, "loading");
  model.pinned.add(key);
  context.redraw();
  try {
    await context.loadPersona(key);
    if (details.has(key)) details.set(key, "shown");
  } catch (error) {
    if (details.has(key)) {
      details.set(key, { error: (error as Error).message });
    }
  }
  context.redraw();
}

// A namespace's heading: how many personas, and how many in trouble.
function groupLabel(personas: PersonaSummary[]): string {
  let bad = 0;
  let degraded = 0;
  for (const p of personas) {
    if (healthRank(p.health) === 0 || phaseRank(p.phase) === 0) bad++;
    else if (healthRank(p.health) === 1 || phaseRank(p.phase) === 1) {
      degraded++;
    }
  }
  return [
    count(personas.length, "persona"),
    bad ? `${bad} failing or unhealthy` : "",
    degraded ? `${degraded} degraded` : "",
  ].filter(Boolean).join(", ");
}

// The opened validation row: loading, the error, or the result.
function detailOf(state: Detail | undefined, persona: PersonaSummary): Element {
  if (state === "loading") {
    return h("p", { class: "muted" }, "Loading the validation...");
  }
  if (state && typeof state === "object") {
    return h("p", { class: "error" }, state.error);
  }
  const validation = persona.validation;
  if (!validation) {
    return h(
      "p",
      { class: "muted" },
      "The operator has not reported a validation for this persona.",
    );
  }
  const verdict = validation.passed ? "Validation passed" : "Validation failed";
  if (validation.issues.length === 0) {
    return h("p", null, badge("Normal", verdict), " with no issues.");
  }
  return h(
    "div",
    null,
    h(
      "p",
      null,
      badge(validation.passed ? "Normal" : "Failed", verdict),
      ` with ${count(validation.issues.length, "issue")}:`,
    ),
    h(
      "ul",
      { class: "issues" },
      validation.issues.map((issue) =>
        h(
          "li",
          null,
          h(
            "span",
            { class: `severity severity-${issue.severity.toLowerCase()}` },
            issue.severity,
          ),
          " ",
          issue.message,
        )
      ),
    ),
  );
}

// The last validation result in a few words, and its tone.
function describeValidation(
  result: ValidationSummary | undefined,
): { label: string; tone: string } {
  if (!result) return { label: "no result", tone: "unknown" };
  if (result.issueCount === 0) return { label: "passed", tone: "good" };
  const label = `${result.passed ? "passed" : "failed"}, ${
    count(result.issueCount, "issue")
  }`;
  const tone = result.severity === "error"
    ? "bad"
    : result.severity === "warning"
    ? "warn"
    : "info";
  return { label, tone };
}

function detailId(key: string): string {
  return `validation-${key.replace(/[^a-z0-9-]/gi, "_")}`;
}

function rowTone(persona: PersonaSummary): string {
  const worst = Math.min(healthRank(persona.health), phaseRank(persona.phase));
  return worst === 0 ? "bad" : worst === 1 ? "warn" : "ok";
}

function sameFilters(a: Filters, b: Filters): boolean {
  return a.ns === b.ns && a.health === b.health && a.phase === b.phase &&
    a.q === b.q && a.sort === b.sort;
}
