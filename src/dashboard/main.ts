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
  readFilters,
  writeFilters,
} from "./filters.ts";
import { Follower } from "./follow.ts";
import { clock, timeElement } from "./format.ts";
import { Model, type Section } from "./model.ts";
import { renderCluster, renderSummary } from "./overview.ts";
import { PersonasView } from "./personas_view.ts";
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
const HEALTHS = ["Unhealthy", "Degraded", "Unknown", "Healthy"];
const EVENT_FILTERS = new Set(["etype", "ereason", "ens", "epersona"]);
const PHASES = ["Failed", "Degraded", "Pending", "Active"];

/** The page: its model, filters and views, drawn at most every 250 ms. */
class Page {
  readonly model = new Model();
  readonly filters: Filters = readFilters(location.search);
  // Sections a filter change redraws (the event log's filters touch only
  // the log); everything at first.
  readonly redraw = new Set<Section>([
    "cluster",
    "personas",
    "deployments",
    "events",
  ]);
  readonly controls: (HTMLSelectElement | HTMLInputElement)[] = [];
  readonly tables: [Section, (filters: Filters) => boolean][];
  readonly follower: Follower;
  scheduled = false;
  renderedAt = 0;
  firstRender = false;
  // What the filters offer, gathered again only when it may have changed.
  shape = -1;
  reasons = -1;

  constructor() {
    this.tables = this.views();
    const url = here("ws");
    url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
    this.follower = new Follower(this.model, {
      url: url.href,
      checkAuth,
      askToken,
      token: tokenStorage(),
      onState: showState,
      onRecovery: showRecovery,
      onChange: () => this.invalidate(),
    });
  }

  setFilters(patch: Partial<Filters>): void {
    Object.assign(this.filters, patch);
    history.replaceState(
      null,
      "",
      `${location.pathname}${writeFilters(this.filters)}${location.hash}`,
    );
    for (const name of Object.keys(patch)) {
      if (EVENT_FILTERS.has(name)) this.redraw.add("events");
      else this.redraw.add("personas").add("deployments");
    }
    // A count clicked, or Clear: the controls show what is applied.
    for (const control of this.controls) {
      const value = this.filters[control.name as keyof Filters];
      if (control.value !== value) control.value = value;
    }
    this.invalidate();
  }

  views(): [Section, (filters: Filters) => boolean][] {
    const personasView = new PersonasView({
      table: byId<HTMLTableElement>("persona-table"),
      summary: byId("personas-summary"),
      more: byId("personas-more"),
    }, {
      model: this.model,
      context: {
        setFilters: (patch) => this.setFilters(patch),
        redraw: () => {
          this.redraw.add("personas");
          this.invalidate();
        },
        // A row is clicked only once the page has started.
        loadPersona: (key) => this.follower.loadPersona(key),
      },
    });
    return [
      ["personas", (f) => personasView.render(f)],
      [
        "deployments",
        deploymentsView({
          table: byId<HTMLTableElement>("deployment-table"),
          summary: byId("deployments-summary"),
        }, this.model),
      ],
      [
        "events",
        eventsView({
          table: byId<HTMLTableElement>("event-table"),
          summary: byId("events-summary"),
        }, this.model),
      ],
    ];
  }

  // Every filter control is named after its URL parameter.
  bindFilterForms(): void {
    for (
      const form of document.querySelectorAll<HTMLFormElement>("form.filters")
    ) {
      const own = [...form.elements].filter((element) =>
        element instanceof HTMLSelectElement ||
        element instanceof HTMLInputElement
      ) as (HTMLSelectElement | HTMLInputElement)[];
      this.controls.push(...own);
      for (const control of own) {
        const name = control.name as keyof Filters;
        control.value = this.filters[name];
        control.addEventListener(
          control instanceof HTMLInputElement ? "input" : "change",
          () => this.setFilters({ [name]: control.value }),
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
        this.setFilters(patch);
      });
    }
  }

  invalidate(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    const wait = Math.max(
      0,
      this.renderedAt + RENDER_EVERY_MS - performance.now(),
    );
    setTimeout(() => requestAnimationFrame(() => this.render()), wait);
  }

  render(): void {
    const { model, filters } = this;
    this.scheduled = false;
    this.renderedAt = performance.now();
    const changed = new Set([...model.changed, ...this.redraw]);
    model.changed.clear();
    this.redraw.clear();
    if (changed.has("cluster")) {
      renderCluster(byId("cluster"), model);
      document.title = model.cluster
        ? `${model.cluster.name}: dorgu-ws`
        : "dorgu-ws";
    }
    renderSummary(byId("health"), {
      model,
      filters,
      setFilters: (patch) => this.setFilters(patch),
    });
    this.drawTables(changed);
    this.offerChoices();
    if (model.lastUpdate) {
      replaceChildren(byId("last-update"), timeElement(model.lastUpdate));
    }
    if (!this.firstRender && model.listed.size === 4) {
      this.firstRender = true;
      // For the benchmark: from navigation start to every topic drawn.
      performance.mark("dorgu-ws:first-render");
    }
  }

  // A table with more rows to build than one frame allows finishes in the
  // next frames, and the tables below it wait their turn: the first frame
  // shows the top of the page quickly.
  drawTables(changed: Set<Section>): void {
    let building = false;
    for (const [section, draw] of this.tables) {
      if (!changed.has(section)) continue;
      if (building || !draw(this.filters)) {
        this.redraw.add(section);
        building = true;
      }
    }
    if (this.redraw.size > 0 && !this.scheduled) {
      this.scheduled = true;
      requestAnimationFrame(() => this.render());
    }
  }

  offerChoices(): void {
    const { model, filters } = this;
    if (this.shape !== model.shape) {
      this.shape = model.shape;
      offerPersonaChoices(model, filters);
    }
    if (this.reasons !== model.reasons.size + model.eventNamespaces.size) {
      this.reasons = model.reasons.size + model.eventNamespaces.size;
      fillSelect(byId<HTMLSelectElement>("filter-ereason"), {
        values: [...model.reasons].sort(),
        all: "Any reason",
        chosen: filters.ereason,
      });
      fillSelect(byId<HTMLSelectElement>("filter-ens"), {
        values: [...model.eventNamespaces].sort(),
        all: "All namespaces",
        chosen: filters.ens,
      });
    }
  }
}

function offerPersonaChoices(model: Model, filters: Filters): void {
  const personas = [...model.personas.values()];
  const namespaces = new Set(personas.map((p) => p.namespace));
  for (const d of model.deployments.values()) namespaces.add(d.namespace);
  fillSelect(byId<HTMLSelectElement>("filter-ns"), {
    values: [...namespaces].sort(),
    all: "All namespaces",
    chosen: filters.ns,
  });
  fillSelect(byId<HTMLSelectElement>("filter-health"), {
    values: [...new Set([...HEALTHS, ...personas.map((p) => p.health)])],
    all: "Any health",
    chosen: filters.health,
  });
  fillSelect(byId<HTMLSelectElement>("filter-phase"), {
    values: [...new Set([...PHASES, ...personas.map((p) => p.phase)])],
    all: "Any phase",
    chosen: filters.phase,
  });
  fillDatalist(
    byId("persona-names"),
    [...new Set(personas.map((p) => p.name))].sort(),
  );
}

// New trouble is announced, a few at a time, to screen readers (and shown).
function announceTrouble(model: Model): void {
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
  model.onTrouble = (text) => {
    trouble.push(text);
    timer ??= setTimeout(
      announce,
      Math.max(0, announcedAt + ANNOUNCE_EVERY_MS - Date.now()),
    );
  };
}

function start(): void {
  const page = new Page();
  page.bindFilterForms();
  announceTrouble(page.model);
  setInterval(() => page.follower.refresh(), 500);
  showVersion();
  page.invalidate();
  page.follower.run();
}

function fillDatalist(list: HTMLElement, values: string[]): void {
  const signature = values.join("\n");
  if (list.dataset.values === signature) return;
  list.dataset.values = signature;
  replaceChildren(list, values.map((value) => h("option", { value })));
}

start();
