/**
 * The event log, newest first: validation results and Kubernetes Events
 * read as kubectl shows them (a failed validation is a Warning with reason
 * `ValidationFailed`), filtered by type, reason, namespace and persona.
 * The history the server held when the page loaded comes first.
 *
 * @module
 */
import { h, patchRows, ROWS_PER_FRAME, setText } from "./dom.ts";
import { eventMatches, type Filters } from "./filters.ts";
import { badge, count, number, timeElement } from "./format.ts";
import * as model from "./model.ts";
import type { LoggedEvent } from "./model.ts";

/** Entries drawn at most; the log keeps more for the filters. */
export const EVENT_ROWS = 100;

/**
 * The events section: returns what draws the rows of `parts.table`'s body
 * (its head is in the page) for a set of filters; false when rows wait
 * for the next frame.
 */
export function eventsView(
  parts: { table: HTMLTableElement; summary: Element },
): (filters: Filters) => boolean {
  const body = parts.table.tBodies[0];
  return (filters) => {
    const appOf = (namespace: string, persona: string) =>
      model.personas.get(`${namespace}/${persona}`)?.appName;
    const matching = model.events.filter((e) =>
      eventMatches(e.view, filters, appOf)
    );
    const shown = matching.slice(0, EVENT_ROWS);
    const complete = patchRows(
      body,
      shown.map((event) => ({
        key: String(event.id),
        signature: "",
        event,
      })),
      {
        render: (row) => renderEvent(row.event),
        budget: { left: ROWS_PER_FRAME },
      },
    );
    const total = model.events.length;
    const warnings = model.events.filter((e) => e.view.type === "Warning")
      .length;
    // Until the first listing, the page's own words: loading.
    if (!model.listed.has("events")) return complete;
    setText(
      parts.summary,
      total === 0
        ? "No events yet."
        : `${count(total, "event")} held (${number(warnings)} Warning); ${
          matching.length === total
            ? "showing the newest"
            : `${number(matching.length)} match the filters, showing the newest`
        } ${number(shown.length)}.`,
    );
    return complete;
  };
}

function renderEvent(event: LoggedEvent): Element {
  const view = event.view;
  return h(
    "tr",
    { class: view.type === "Warning" ? "warning" : undefined },
    h(
      "td",
      { class: "time" },
      // A validation result carries no time; a listed one shows when the
      // page listed it, and says so.
      event.listed && view.lastSeen === undefined
        ? h(
          "span",
          { class: "muted", title: "Listed when the page loaded" },
          timeElement(event.at),
        )
        : timeElement(event.at),
    ),
    h("td", null, badge(view.type)),
    h("td", null, view.reason),
    h("td", null, view.namespace),
    h("td", null, `${view.object.kind}/${view.object.name}`),
    h(
      "td",
      { class: "message" },
      view.message,
      view.count > 1 && h("span", { class: "muted" }, ` (x${view.count})`),
    ),
  );
}
