/**
 * The deployments table: replicas ready, up to date and available, the
 * rollout, the images, and the persona that claims each Deployment;
 * filtered by the personas' namespace and text filters.
 *
 * @module
 */
import type { DeploymentSummary } from "../protocol/mod.ts";
import { h, patchRows, ROWS_PER_FRAME, setText } from "./dom.ts";
import { deploymentMatches, type Filters } from "./filters.ts";
import { badge, count, number } from "./format.ts";
import * as model from "./model.ts";
import { keyOf } from "./model.ts";
import { PAGE } from "./personas_view.ts";

/**
 * The deployments section: returns what draws the rows of `parts.table`'s
 * body (its head is in the page) for a set of filters; false when rows
 * wait for the next frame.
 */
export function deploymentsView(
  parts: { table: HTMLTableElement; summary: Element },
): (filters: Filters) => boolean {
  const body = parts.table.tBodies[0];
  return (filters) => {
    const all = [...model.deployments.values()];
    const matching = all.filter((d) => deploymentMatches(d, filters)).sort((
      a,
      b,
    ) => keyOf(a) < keyOf(b) ? -1 : keyOf(a) > keyOf(b) ? 1 : 0);
    const shown = matching.slice(0, PAGE);
    const complete = patchRows(
      body,
      shown.map((d) => ({
        key: keyOf(d),
        signature: JSON.stringify(d),
        deployment: d,
      })),
      {
        render: (row) => renderDeployment(row.deployment),
        budget: { left: ROWS_PER_FRAME },
      },
    );
    // Until the first listing, the page's own words: loading.
    if (!model.listed.has("deployments")) return complete;
    setText(
      parts.summary,
      all.length === 0
        ? "No Deployments."
        : matching.length === 0
        ? `None of the ${count(all.length, "deployment")} match the filters.`
        : matching.length > shown.length
        ? `Showing the first ${number(shown.length)} of ${
          count(matching.length, "matching deployment")
        }; narrow the filters to see the others.`
        : `Showing ${number(matching.length)} of ${
          count(all.length, "deployment")
        }.`,
    );
    return complete;
  };
}

function renderDeployment(d: DeploymentSummary): Element {
  const readyTone = d.replicas === 0 || d.readyReplicas === d.replicas
    ? "good"
    : d.readyReplicas === 0
    ? "bad"
    : "warn";
  return h(
    "tr",
    null,
    h("td", null, d.namespace),
    h("th", { scope: "row" }, d.name),
    h(
      "td",
      null,
      h(
        "span",
        {
          class: `badge tone-${readyTone}`,
          "aria-label": `${d.readyReplicas} of ${d.replicas} ready`,
        },
        `${d.readyReplicas}/${d.replicas}`,
      ),
    ),
    h("td", { class: "num" }, number(d.updatedReplicas)),
    h("td", { class: "num" }, number(d.availableReplicas)),
    h("td", null, badge(d.rollout)),
    h("td", null, d.persona ?? h("span", { class: "muted" }, "none")),
    h(
      "td",
      { class: "images" },
      d.images.map((image) => h("code", null, image)),
    ),
  );
}
