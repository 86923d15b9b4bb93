/**
 * The dashboard's entry point: wires the page's elements, the filters in
 * the URL, the model, the views and the follower together, and draws at
 * most every {@link RENDER_EVERY_MS}, so a burst of events costs one
 * render rather than one per event.
 *
 * @module
 */
import * as v from "valibot";
import { fillSelect } from "./dom.ts";
import { deploymentsView } from "./deployments_view.ts";
import { eventsView } from "./events_view.ts";
import {
  DEFAULT_FILTERS,
  type Filters,
  readFilters,
  writeFilters,
} from "./filters.ts";
import {
  type AuthAnswer,
  type ConnectionState,
  Follower,
  type Recovery,
} from "./follow.ts";
import { clock, timeElement } from "./format.ts";
import { Link } from "./link.ts";
import { Model, type Section } from "./model.ts";
import { renderCluster, renderSummary } from "./overview.ts";
import { PersonasView } from "./personas_view.ts";
import { h, replaceChildren, setText } from "./dom.ts";

/** The shortest time between two renders. */
const RENDER_EVERY_MS = 250;
/** The shortest time between two announcements of new trouble. */
const ANNOUNCE_EVERY_MS = 3000;
const TOKEN_KEY = "dorgu-ws.token";
const HEALTHS = ["Unhealthy", "Degraded", "Unknown", "Healthy"];
const EVENT_FILTERS = new Set(["etype", "ereason", "ens", "epersona"]);
const PHASES = ["Failed", "Degraded", "Pending", "Active"];

const AuthSchema = v.object({
  ok: v.boolean(),
  auth: v.string(),
  user: v.optional(v.string()),
  message: v.optional(v.string()),
  retry: v.optional(v.boolean()),
});

const VersionSchema = v.object({
  version: v.string(),
  commit: v.string(),
  deno: v.string(),
  target: v.string(),
});

function byId<T extends HTMLElement = HTMLElement>(id: string): T {
  const element = document.getElementById(id);
  if (!element) throw new Error(`The page has no #${id}.`);
  return element as T;
}

/** The page's own address for `path`, so a proxy's path prefix is kept. */
function here(path: string): URL {
  return new URL(path, location.href);
}

function start(): void {
  const model = new Model();
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

  const setFilters = (patch: Partial<Filters>) => {
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
  };

  const personasView = new PersonasView({
    table: byId<HTMLTableElement>("persona-table"),
    summary: byId("personas-summary"),
    more: byId("personas-more"),
  }, {
    model,
    context: {
      setFilters,
      redraw: () => {
        redraw.add("personas");
        invalidate();
      },
      // The follower is made below; a row is clicked only after that.
      loadPersona: (key) => follower.loadPersona(key),
    },
  });
  const drawDeployments = deploymentsView({
    table: byId<HTMLTableElement>("deployment-table"),
    summary: byId("deployments-summary"),
  }, model);
  const drawEvents = eventsView({
    table: byId<HTMLTableElement>("event-table"),
    summary: byId("events-summary"),
  }, model);

  // Every filter control is named after its URL parameter.
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

  const tables: [Section, (filters: Filters) => boolean][] = [
    ["personas", (f) => personasView.render(f)],
    ["deployments", drawDeployments],
    ["events", drawEvents],
  ];
  let scheduled = false;
  let renderedAt = 0;
  let firstRender = false;
  function invalidate(): void {
    if (scheduled) return;
    scheduled = true;
    const wait = Math.max(0, renderedAt + RENDER_EVERY_MS - performance.now());
    setTimeout(() => requestAnimationFrame(render), wait);
  }

  // What the filters offer, gathered again only when it may have changed.
  let shape = -1;
  let reasons = -1;
  function offerPersonaChoices(): void {
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

  function render(): void {
    scheduled = false;
    renderedAt = performance.now();
    const changed = new Set([...model.changed, ...redraw]);
    model.changed.clear();
    redraw.clear();
    if (changed.has("cluster")) {
      renderCluster(byId("cluster"), model);
      document.title = model.cluster
        ? `${model.cluster.name}: dorgu-ws`
        : "dorgu-ws";
    }
    renderSummary(byId("health"), { model, filters, setFilters });
    // A table with more rows to build than one frame allows finishes in
    // the next frames, and the tables below it wait their turn: the first
    // frame shows the top of the page quickly.
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
    if (shape !== model.shape) {
      shape = model.shape;
      offerPersonaChoices();
    }
    if (reasons !== model.reasons.size + model.eventNamespaces.size) {
      reasons = model.reasons.size + model.eventNamespaces.size;
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
    if (model.lastUpdate) {
      replaceChildren(byId("last-update"), timeElement(model.lastUpdate));
    }
    if (!firstRender && model.listed.size === 4) {
      firstRender = true;
      // For the benchmark: from navigation start to every topic drawn.
      performance.mark("dorgu-ws:first-render");
    }
  }

  // New trouble is announced, a few at a time, to screen readers (and shown).
  const trouble: string[] = [];
  let announcedAt = 0;
  let announceTimer: ReturnType<typeof setTimeout> | undefined;
  const announce = () => {
    announceTimer = undefined;
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
    announceTimer ??= setTimeout(
      announce,
      Math.max(0, announcedAt + ANNOUNCE_EVERY_MS - Date.now()),
    );
  };

  const tokenPanel = byId("token-panel");
  const tokenForm = byId<HTMLFormElement>("token-form");
  const tokenInput = byId<HTMLInputElement>("token-input");
  const storage = {
    get: () => sessionStorage.getItem(TOKEN_KEY) ?? undefined,
    set: (token: string | undefined) => {
      if (token === undefined) sessionStorage.removeItem(TOKEN_KEY);
      else sessionStorage.setItem(TOKEN_KEY, token);
      byId("forget-token").hidden = token === undefined;
    },
  };
  byId("forget-token").hidden = storage.get() === undefined;
  byId("forget-token").addEventListener("click", () => {
    storage.set(undefined);
    location.reload();
  });

  const askToken = (message: string) =>
    new Promise<string>((resolve) => {
      setText(byId("token-message"), message);
      tokenPanel.hidden = false;
      tokenInput.value = "";
      tokenInput.focus();
      tokenForm.onsubmit = (event) => {
        event.preventDefault();
        const token = tokenInput.value.trim();
        if (!token) return;
        tokenPanel.hidden = true;
        tokenForm.onsubmit = null;
        resolve(token);
      };
    });

  const checkAuth = async (
    token: string | undefined,
  ): Promise<AuthAnswer> => {
    let body: unknown;
    try {
      const response = await fetch(here("ui/auth"), {
        headers: token ? { authorization: `Bearer ${token}` } : {},
        cache: "no-store",
      });
      body = await response.json();
    } catch (error) {
      return {
        unreachable: `the server does not answer (${(error as Error).message})`,
      };
    }
    const answer = v.safeParse(AuthSchema, body);
    if (!answer.success) {
      return {
        unreachable: "the server's answer about tokens is not readable",
      };
    }
    const { ok, user, message, retry } = answer.output;
    setText(byId("signed-in"), ok && user ? `Signed in as ${user}` : "");
    return ok ? { ok, user } : {
      ok,
      message: message ?? "refused",
      retry: retry ?? false,
    };
  };

  const url = here("ws");
  url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
  let retryTimer: ReturnType<typeof setInterval> | undefined;
  const follower = new Follower(model, {
    url: url.href,
    open: (target, token) => Link.open(target, { token, timeoutMs: 10_000 }),
    checkAuth,
    askToken,
    token: storage,
    onState: (state) => showState(state),
    onRecovery: (recovery) => showRecovery(recovery),
    onChange: invalidate,
  });

  function showState(state: ConnectionState): void {
    const pill = byId("connection");
    pill.dataset.state = state.state;
    clearInterval(retryTimer);
    const detail = byId("connection-detail");
    switch (state.state) {
      case "connecting":
        setText(pill, "Connecting");
        setText(detail, "");
        break;
      case "live":
        setText(pill, "Live");
        setText(detail, "");
        break;
      case "token":
        setText(pill, "Waiting for a token");
        setText(detail, state.message);
        break;
      case "failed":
        setText(pill, "Stopped");
        setText(detail, `${state.message} Reload the page to try again.`);
        break;
      case "reconnecting": {
        setText(pill, "Reconnecting");
        const tick = () => {
          const seconds = Math.max(
            0,
            Math.ceil((state.retryAt - Date.now()) / 1000),
          );
          setText(
            detail,
            `Lost the server: ${state.reason}. Retrying ${
              seconds > 0 ? `in ${seconds} s` : "now"
            }.`,
          );
        };
        tick();
        retryTimer = setInterval(tick, 1000);
        break;
      }
    }
  }

  function showRecovery(recovery: Recovery): void {
    const element = byId("recovery");
    element.dataset.how = recovery.how;
    setText(
      element,
      `${recovery.how === "resumed" ? "Resumed" : "Re-listed"} at ${
        clock(recovery.at)
      }: ${recovery.detail}.`,
    );
  }

  setInterval(() => follower.refresh(), 500);
  fetch(here("version"), { cache: "no-store" }).then((r) => r.json()).then(
    (body) => {
      const parsed = v.safeParse(VersionSchema, body);
      if (!parsed.success) return;
      const { version, commit } = parsed.output;
      setText(
        byId("server-version"),
        `dorgu-ws ${version}${
          commit === "unknown" ? "" : ` (${commit.slice(0, 12)})`
        }`,
      );
    },
  ).catch(() => {});
  invalidate();
  follower.run();
}

function fillDatalist(list: HTMLElement, values: string[]): void {
  const signature = values.join("\n");
  if (list.dataset.values === signature) return;
  list.dataset.values = signature;
  replaceChildren(list, values.map((value) => h("option", { value })));
}

start();
