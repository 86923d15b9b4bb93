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
  SORT_KEYS,
  sortPersonas,
} from "./filters.ts";
import { badge, count, number } from "./format.ts";
import { keyOf, type Model, type ValidationSummary } from "./model.ts";

/** Rows drawn before "Show more". */
export const PAGE = 100;

const COLUMNS: { label: string; sort?: typeof SORT_KEYS[number] }[] = [
  { label: "Name", sort: "name" },
  { label: "Type", sort: "type" },
  { label: "Tier", sort: "tier" },
  { label: "Phase", sort: "phase" },
  { label: "Health", sort: "health" },
  { label: "Validation" },
];

type Detail = "loading" | "shown" | { error: string };

interface Row {
  key: string;
  signature: string;
  kind: "group" | "persona" | "detail";
  persona?: PersonaSummary;
  namespace: string;
  label?: string;
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

/** The personas section. */
export class PersonasView {
  readonly #table: HTMLTableElement;
  readonly #head: HTMLElement;
  readonly #summary: Element;
  readonly #more: HTMLElement;
  readonly #context: PersonasContext;
  readonly #model: Model;
  readonly #details = new Map<string, Detail>();
  #limit = PAGE;
  #filters: Filters | undefined;

  /** Builds the table's head into `table`; `summary` gets the counts line. */
  constructor(
    parts: { table: HTMLTableElement; summary: Element; more: HTMLElement },
    options: { model: Model; context: PersonasContext },
  ) {
    this.#table = parts.table;
    this.#summary = parts.summary;
    this.#more = parts.more;
    this.#model = options.model;
    this.#context = options.context;
    this.#head = h(
      "thead",
      null,
      h(
        "tr",
        null,
        COLUMNS.map((column) =>
          h(
            "th",
            { scope: "col", "data-sort": column.sort },
            column.sort
              ? h(
                "button",
                {
                  type: "button",
                  class: "sort",
                  onclick: () => this.#sortBy(column.sort as string),
                },
                column.label,
              )
              : column.label,
          )
        ),
      ),
    );
    this.#table.append(this.#head);
    this.#more.addEventListener("click", () => {
      this.#limit += PAGE;
      this.#context.redraw();
    });
  }

  /** Draws the table for `filters`; false when rows wait for the next frame. */
  render(filters: Filters): boolean {
    if (this.#filters && !sameFilters(this.#filters, filters)) {
      this.#limit = PAGE;
    }
    this.#filters = filters;
    for (const th of this.#head.querySelectorAll("th[data-sort]")) {
      const key = th.getAttribute("data-sort");
      const sorted = filters.sort.replace(/^-/, "") === key;
      if (sorted) {
        th.setAttribute(
          "aria-sort",
          filters.sort.startsWith("-") ? "descending" : "ascending",
        );
      } else th.removeAttribute("aria-sort");
    }
    const matching = sortPersonas(
      [...this.#model.personas.values()].filter((p) =>
        personaMatches(p, filters)
      ),
      filters.sort,
    );
    const shown = matching.slice(0, this.#limit);
    const groups = new Map<string, PersonaSummary[]>();
    for (const persona of shown) {
      const group = groups.get(persona.namespace) ?? [];
      group.push(persona);
      groups.set(persona.namespace, group);
    }
    patchRows(
      this.#table,
      [...groups.keys()].map((namespace) => ({
        key: namespace,
        signature: "",
      })),
      {
        after: this.#head,
        render: (group) =>
          h("tbody", {
            "aria-label": `Namespace ${group.key}`,
            "data-namespace": group.key,
          }),
      },
    );
    const budget = { left: ROWS_PER_FRAME };
    let complete = true;
    for (const tbody of this.#table.tBodies) {
      const namespace = tbody.dataset.namespace ?? "";
      const rows = this.#rows(namespace, groups.get(namespace) ?? []);
      complete = patchRows(tbody, rows, {
        render: (row) => this.#renderRow(row),
        budget,
      }) && complete;
    }
    const total = this.#model.personas.size;
    setText(
      this.#summary,
      !this.#model.listed.has("personas")
        ? "Loading personas..."
        : total === 0
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
    this.#more.hidden = matching.length <= shown.length;
    setText(
      this.#more,
      `Show ${number(Math.min(PAGE, matching.length - shown.length))} more`,
    );
    return complete;
  }

  #rows(namespace: string, personas: PersonaSummary[]): Row[] {
    let bad = 0;
    let degraded = 0;
    for (const p of personas) {
      if (healthRank(p.health) === 0 || phaseRank(p.phase) === 0) bad++;
      else if (healthRank(p.health) === 1 || phaseRank(p.phase) === 1) {
        degraded++;
      }
    }
    const label = [
      count(personas.length, "persona"),
      bad ? `${bad} failing or unhealthy` : "",
      degraded ? `${degraded} degraded` : "",
    ].filter(Boolean).join(", ");
    const rows: Row[] = [{
      key: "#group",
      signature: label,
      kind: "group",
      namespace,
      label,
    }];
    for (const persona of personas) {
      const key = keyOf(persona);
      const detail = this.#details.get(key);
      rows.push({
        key,
        signature: [
          persona.name,
          persona.appName,
          persona.type,
          persona.tier,
          persona.phase,
          persona.health,
          detail ? "open" : "",
          JSON.stringify(this.#model.validations.get(key) ?? null),
        ].join("\n"),
        kind: "persona",
        persona,
        namespace,
      });
      if (detail) {
        rows.push({
          key: `${key}#detail`,
          signature: JSON.stringify([detail, persona.validation ?? null]),
          kind: "detail",
          persona,
          namespace,
        });
      }
    }
    return rows;
  }

  #renderRow(row: Row): Element {
    if (row.kind === "group") {
      return h(
        "tr",
        { class: "group" },
        h(
          "th",
          { colspan: COLUMNS.length, scope: "rowgroup" },
          h("span", { class: "group-name" }, row.namespace),
          h("span", { class: "group-count" }, row.label),
        ),
      );
    }
    const persona = row.persona as PersonaSummary;
    const key = keyOf(persona);
    const id = detailId(key);
    if (row.kind === "detail") {
      return h(
        "tr",
        { class: "detail", id },
        h(
          "td",
          { colspan: COLUMNS.length },
          this.#detail(key, persona),
        ),
      );
    }
    const open = this.#details.has(key);
    const summary = describeValidation(this.#model.validations.get(key));
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
      h(
        "td",
        null,
        h(
          "button",
          {
            type: "button",
            class: `validation tone-${summary.tone}`,
            "aria-expanded": open ? "true" : "false",
            "aria-controls": open ? id : undefined,
            "aria-label": `${
              open ? "Hide" : "Show"
            } validation of ${key} (${summary.label})`,
            onclick: () => this.#toggle(key),
          },
          summary.label,
        ),
      ),
    );
  }

  #detail(key: string, persona: PersonaSummary): Element {
    const state = this.#details.get(key);
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
    const verdict = validation.passed
      ? "Validation passed"
      : "Validation failed";
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

  async #toggle(key: string): Promise<void> {
    if (this.#details.has(key)) {
      this.#details.delete(key);
      this.#model.pinned.delete(key);
      this.#context.redraw();
      return;
    }
    this.#details.set(key, "loading");
    this.#model.pinned.add(key);
    this.#context.redraw();
    try {
      await this.#context.loadPersona(key);
      if (this.#details.has(key)) this.#details.set(key, "shown");
    } catch (error) {
      if (this.#details.has(key)) {
        this.#details.set(key, { error: (error as Error).message });
      }
    }
    this.#context.redraw();
  }

  #sortBy(key: string): void {
    const current = this.#filters?.sort ?? "";
    const sort = current === key ? `-${key}` : key;
    this.#context.setFilters({ sort });
  }
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
