/**
 * The dashboard's entry point: wires the page's elements, the filters in
 * the URL, the model, the views and the follower together, and draws at
 * most every {@link RENDER_EVERY_MS}, so a burst of events costs one
 * render rather than one per event.
 *
 * @module
 */
import { byId, fillSelect, here } from "./dom.ts";
import { deploymentsView } from "./deployments_view.ts";
import { eventsView } from "./events_view.ts";
import {
  DEFAULT_FILTERS,
  type Filters,
  HEALTHS,
  readFilters,
  writeFilters,
} from "./filters.ts";
import { followTopics, type PageFollower } from "./follow.ts";
import { clock, timeElement } from "./format.ts";
import * as model from "./model.ts";
import type { Section } from "./model.ts";
import { renderCluster, renderSummary } from "./overview.ts";
import { personasView } from "./personas_view.ts";
import { openSession } from "./secret.ts";
import {
  askToken,
  checkAuth,
  showRecovery,
  showState,
  showVersion,
  tokenStorage,
} from "./status.ts";
import { h, replaceChildren, setText } from "./dom.ts";

/** The shortest time between two renders. */
const RENDER_EVERY_MS = 250;
/** The shortest time between two announcements of new trouble. */
const ANNOUNCE_EVERY_MS = 3000;
const EVENT_FILTERS = new Set(["etype", "ereason", "ens", "epersona"]);
const PHASES = ["Failed", "Degraded", "Pending", "Active"];

// One page per document: its state is this module's.
const filters: Filters = readFilters(location.search);
// Sections a filter change redraws (the event log's filters touch only
// the log); everything at first.
const redraw = new Set<Section>([
  "cluster",
  "personas",
  "deployments",
  "events",
]);
const controls: (HTMLSelectElement | HTMLInputElement)[] = [];
let tables: [Section, (filters: Filters) => boolean][] = [];
let follower: PageFollower;
let scheduled = false;
let renderedAt = 0;
let firstRender = false;
// What the filters offer, gathered again only when it may have changed.
let shape = -1;
let reasons = -1;

function setFilters(patch: Partial<Filters>): void {
  Object.assign(filters, patch);
  history.replaceState(
    null,
    "",
    `${location.pathname}${writeFilters(filters)}${location.hash}`,
  );
  for (const name of Object.keys(patch)) {
    if (EVENT_FILTERS.has(name)) redraw.add("events");
    else redraw.add("personas").add("deployments");
  }
  // A count clicked, or Clear: the controls show what is applied.
  for (const control of controls) {
    const value = filters[control.name as keyof Filters];
    if (control.value !== value) control.value = value;
  }
  invalidate();
}

function views(): [Section, (filters: Filters) => boolean][] {
  return [
    [
      "personas",
      personasView({
        table: byId<HTMLTableElement>("persona-table"),
        summary: byId("personas-summary"),
        more: byId("personas-more"),
      }, {
        setFilters,
        redraw: () => {
          redraw.add("personas");
          invalidate();
        },
        // A row is clicked only once the page has started.
        loadPersona: (key) => follower.loadPersona(key),
      }),
    ],
    [
      "deployments",
      deploymentsView({
        table: byId<HTMLTableElement>("deployment-table"),
        summary: byId("deployments-summary"),
      }),
    ],
    [
      "events",
      eventsView({
        table: byId<HTMLTableElement>("event-table"),
        summary: byId("events-summary"),
      }),
    ],
  ];
}

// Every filter control is named after its URL parameter.
function bindFilterForms(): void {
  for (
    const form of document.querySelectorAll<HTMLFormElement>("form.filters")
  ) {
    const own = [...form.elements].filter((element) =>
      element instanceof HTMLSelectElement ||
      element instanceof HTMLInputElement
    ) as (HTMLSelectElement | HTMLInputElement)[];
    controls.push(...own);
    for (const control of own) {
      const name = control.name as keyof Filters;
      control.value = filters[name];
      control.addEventListener(
        control instanceof HTMLInputElement ? "input" : "change",
        () => setFilters({ [name]: control.value }),
      );
    }
    form.addEventListener("submit", (event) => event.preventDefault());
    form.addEventListener("reset", (event) => {
      event.preventDefault();
      const patch: Partial<Filters> = {};
      for (const control of own) {
        const name = control.name as keyof Filters;
        patch[name] = DEFAULT_FILTERS[name];
      }
      setFilters(patch);
    });
  }
}

function invalidate(): void {
  if (scheduled) return;
  scheduled = true;
  const wait = Math.max(0, renderedAt + RENDER_EVERY_MS - performance.now());
  setTimeout(() => requestAnimationFrame(render), wait);
}

function render(): void {
  scheduled = false;
  renderedAt = performance.now();
  const changed = new Set([...model.changed, ...redraw]);
  model.changed.clear();
  redraw.clear();
  if (changed.has("cluster")) {
    renderCluster(byId("cluster"));
    document.title = model.cluster
      ? `${model.cluster.name}: dorgu-ws`
      : "dorgu-ws";
  }
  renderSummary(byId("health"), { filters, setFilters });
  drawTables(changed);
  offerChoices();
  if (model.lastUpdate) {
    replaceChildren(byId("last-update"), timeElement(model.lastUpdate));
  }
  if (!firstRender && model.listed.size === 4) {
    firstRender = true;
    // For the benchmark: from navigation start to every topic drawn.
    performance.mark("dorgu-ws:first-render");
  }
}

// A table with more rows to build than one frame allows finishes in the
// next frames, and the tables below it wait their turn: the first frame
// shows the top of the page quickly.
function drawTables(changed: Set<Section>): void {
  let building = false;
  for (const [section, draw] of tables) {
    if (!changed.has(section)) continue;
    if (building || !draw(filters)) {
      redraw.add(section);
      building = true;
    }
  }
  if (redraw.size > 0 && !scheduled) {
    scheduled = true;
    requestAnimationFrame(render);
  }
}

function offerChoices(): void {
  if (shape !== model.shape) {
    shape = model.shape;
    offerPersonaChoices();
  }
  if (reasons !== model.reasons.size + model.eventNamespaces.size) {
    reasons = model.reasons.size + model.eventNamespaces.size;
    fillSelect(byId<HTMLSelectElement>("filter-ereason"), {
      values: [...model.reasons].sort(),
      chosen: filters.ereason,
    });
    fillSelect(byId<HTMLSelectElement>("filter-ens"), {
      values: [...model.eventNamespaces].sort(),
      chosen: filters.ens,
    });
  }
}

function offerPersonaChoices(): void {
  const personas = [...model.personas.values()];
  const namespaces = new Set(personas.map((p) => p.namespace));
  for (const d of model.deployments.values()) namespaces.add(d.namespace);
  fillSelect(byId<HTMLSelectElement>("filter-ns"), {
    values: [...namespaces].sort(),
    chosen: filters.ns,
  });
  fillSelect(byId<HTMLSelectElement>("filter-health"), {
    values: [...new Set([...HEALTHS, ...personas.map((p) => p.health)])],
    chosen: filters.health,
  });
  fillSelect(byId<HTMLSelectElement>("filter-phase"), {
    values: [...new Set([...PHASES, ...personas.map((p) => p.phase)])],
    chosen: filters.phase,
  });
  fillDatalist(
    byId("persona-names"),
    [...new Set(personas.map((p) => p.name))].sort(),
  );
}

// New trouble is announced, a few at a time, to screen readers (and shown).
function announceTrouble(): void {
  const trouble: string[] = [];
  let announcedAt = 0;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const announce = () => {
    timer = undefined;
    announcedAt = Date.now();
    const latest = trouble[trouble.length - 1];
    const text = trouble.length === 1
      ? latest
      : `${trouble.length} new problems; the latest: ${latest}`;
    trouble.length = 0;
    setText(byId("announcer"), `${clock(new Date())}: ${text}`);
  };
  model.onTrouble((text) => {
    trouble.push(text);
    timer ??= setTimeout(
      announce,
      Math.max(0, announcedAt + ANNOUNCE_EVERY_MS - Date.now()),
    );
  });
}

function start(): void {
  tables = views();
  const url = here("ws");
  url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
  follower = followTopics({
    url: url.href,
    checkAuth,
    askToken,
    token: tokenStorage(),
    onState: showState,
    onRecovery: showRecovery,
    onChange: invalidate,
  });
  bindFilterForms();
  announceTrouble();
  setInterval(() => follower.refresh(), 500);
  showVersion();
  invalidate();
  follower.run();
}

function fillDatalist(list: HTMLElement, values: string[]): void {
  const signature = values.join("\n");
  if (list.dataset.values === signature) return;
  list.dataset.values = signature;
  replaceChildren(list, values.map((value) => h("option", { value })));
}

// A laptop dashboard lets the page in only with its secret.
openSession().then((open) => open && start());
