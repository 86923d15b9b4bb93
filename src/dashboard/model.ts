/**
 * What the page knows: the four topics' state as listings and events left
 * it. The follower feeds it; the views read it. It records which sections
 * changed, so a burst of events costs one render, and what is newly wrong,
 * for the screen-reader announcement.
 *
 * @module
 */
import type {
  ClusterEvent,
  ClusterInfo,
  DeploymentEvent,
  DeploymentSummary,
  EventMessage,
  EventsTopicPayload,
  EventView,
  PersonaEvent,
  PersonaSummary,
  ResponseMessage,
  Topic,
} from "../protocol/mod.ts";
import { viewEvent } from "../protocol/event_view.ts";

/** A part of the page that renders on its own. */
export type Section = "cluster" | "personas" | "deployments" | "events";

/** One entry of the event log. */
export interface LoggedEvent {
  /** Unique in this page's life. */
  id: number;
  /** When it happened: the Event's last time, else when it was reported. */
  at: string;
  /** Read as kubectl shows events. */
  view: EventView;
  /** Came with a listing rather than live. */
  listed: boolean;
}

/** A persona's last validation result, as the events topic reported it. */
export interface ValidationSummary {
  passed: boolean;
  issueCount: number;
  /** The highest severity: error, warning, info, or none. */
  severity: string;
}

/** The most events the log keeps; the server's history is usually 1,024. */
export const MAX_EVENTS = 1000;

/** `namespace/name`. */
export function keyOf(item: { namespace: string; name: string }): string {
  return `${item.namespace}/${item.name}`;
}

const BAD_HEALTH = new Set(["Unhealthy", "Degraded"]);

/** The page's state. */
export class Model {
  /** Personas by {@link keyOf}. */
  readonly personas = new Map<string, PersonaSummary>();
  /** Deployments by {@link keyOf}. */
  readonly deployments = new Map<string, DeploymentSummary>();
  /** The cluster; null when there is no ClusterPersona. */
  cluster: ClusterInfo | null = null;
  /** Topics listed at least once. */
  readonly listed = new Set<Topic>();
  /** The event log, newest first. */
  events: LoggedEvent[] = [];
  /**
   * Each persona's last validation result, by {@link keyOf}: from the
   * events topic (its history and live results) and from personas asked
   * for by name. Unknown for a persona whose result left the history.
   */
  readonly validations = new Map<string, ValidationSummary>();
  /** Sections changed since the views last rendered. */
  readonly changed = new Set<Section>();
  /**
   * Personas whose summary an event left incomplete (a `created` event has
   * no type or tier; an `updated` one may hide a changed type), or whose
   * validation changed: to ask the server for.
   */
  readonly stale = new Set<string>();
  /** Personas whose validation is on screen: refreshed one by one. */
  readonly pinned = new Set<string>();
  /** A cluster event left fields it does not carry (version, addons) unknown. */
  clusterStale = false;
  /**
   * Counts changes to what the filters offer: namespaces, healths and
   * phases (a persona or Deployment added or removed, a new value), so the
   * choices are gathered again only when they may differ.
   */
  shape = 0;
  /** Reasons the event log has shown, for its filter. */
  readonly reasons = new Set<string>();
  /** Namespaces the event log has shown, for its filter. */
  readonly eventNamespaces = new Set<string>();
  /** When anything last changed, as the server stamped it. */
  lastUpdate: string | undefined;
  /** Called with each newly wrong thing, in words. */
  onTrouble: (text: string) => void = () => {};
  #nextId = 1;

  /** Replaces a topic's state with a listing. */
  list(topic: Topic, response: ResponseMessage | null): void {
    this.listed.add(topic);
    this.lastUpdate = response?.timestamp ?? this.lastUpdate;
    switch (topic) {
      case "personas": {
        const { personas } = response?.payload as {
          personas: PersonaSummary[];
        };
        const before = new Map(this.personas);
        this.personas.clear();
        for (const persona of personas) this.#put(persona, before);
        this.shape++;
        for (const key of this.stale) {
          if (!this.pinned.has(key)) this.stale.delete(key);
        }
        break;
      }
      case "deployments": {
        const { deployments } = response?.payload as {
          deployments: DeploymentSummary[];
        };
        this.deployments.clear();
        for (const d of deployments) this.deployments.set(keyOf(d), d);
        this.shape++;
        break;
      }
      case "cluster":
        this.cluster = (response?.payload as ClusterInfo | undefined) ?? null;
        this.clusterStale = false;
        break;
      case "events": {
        const { events } = response?.payload as {
          events: EventsTopicPayload[];
        };
        // Newest first; a validation result has no time of its own and
        // counts as of the listing (the sort is stable, so the server's
        // order decides among equals).
        const at = response?.timestamp ?? new Date().toISOString();
        this.events = events.slice(-MAX_EVENTS).reverse().map((payload) =>
          this.#logged(payload, at, true)
        ).sort((a, b) => a.at < b.at ? 1 : a.at > b.at ? -1 : 0);
        // Oldest first, so the newest result of each persona stays.
        for (const payload of events) this.#validated(payload);
        this.changed.add("personas");
        break;
      }
    }
    this.changed.add(topic);
  }

  /**
   * Puts fresh summaries of personas in place: the answer to a request for
   * one persona (`only` is its key) or one namespace (`only` is the
   * namespace), read at a position this page has already reached.
   */
  refresh(
    personas: PersonaSummary[],
    only: { key?: string; namespace?: string },
  ): void {
    const before = new Map(this.personas);
    const size = this.personas.size;
    if (only.key !== undefined) {
      // Asked for by name: the answer carries the validation as it is.
      this.personas.delete(only.key);
      before.delete(only.key);
      this.stale.delete(only.key);
    }
    if (only.namespace !== undefined) {
      for (const [key, persona] of this.personas) {
        if (persona.namespace === only.namespace) this.personas.delete(key);
      }
    }
    for (const persona of personas) {
      this.#put(persona, before);
      if (!this.pinned.has(keyOf(persona))) this.stale.delete(keyOf(persona));
    }
    if (this.personas.size !== size) this.shape++;
    this.changed.add("personas");
  }

  #validated(payload: EventsTopicPayload): void {
    if (payload.kind !== "validation") return;
    const { passed, issueCount, severity } = payload;
    this.validations.set(keyOf(payload), { passed, issueCount, severity });
  }

  // A listing carries no validation: keep what was asked for by name.
  #put(persona: PersonaSummary, before: Map<string, PersonaSummary>): void {
    const key = keyOf(persona);
    if (persona.validation) {
      const { passed, issues } = persona.validation;
      const severities = issues.map((issue) => issue.severity.toLowerCase());
      this.validations.set(key, {
        passed,
        issueCount: issues.length,
        severity: ["error", "warning", "info"].find((level) =>
          severities.includes(level)
        ) ?? (issues.length ? "info" : "none"),
      });
    }
    const validation = persona.validation ?? before.get(key)?.validation;
    this.personas.set(
      key,
      validation ? { ...persona, validation } : persona,
    );
  }

  /** Applies one event. */
  apply(message: EventMessage): void {
    this.lastUpdate = message.timestamp;
    switch (message.topic) {
      case "personas":
        this.#persona(message.payload as PersonaEvent);
        break;
      case "deployments":
        this.#deployment(message.payload as DeploymentEvent);
        break;
      case "cluster":
        this.#cluster(message.payload as ClusterEvent);
        break;
      case "events":
        this.#event(message.payload as EventsTopicPayload, message.timestamp);
        break;
    }
    this.changed.add(message.topic);
  }

  #persona(event: PersonaEvent): void {
    const key = keyOf(event);
    const before = this.personas.get(key);
    if (event.eventType === "deleted") {
      this.personas.delete(key);
      this.stale.delete(key);
      this.validations.delete(key);
      this.shape++;
      return;
    }
    if (
      !before || before.health !== event.health || before.phase !== event.phase
    ) this.shape++;
    this.personas.set(key, {
      namespace: event.namespace,
      name: event.name,
      appName: before?.appName ?? event.name,
      type: before?.type ?? "",
      tier: before?.tier ?? "",
      phase: event.phase,
      health: event.health,
      ...(before?.validation ? { validation: before.validation } : {}),
    });
    this.stale.add(key);
    const wasBad = before !== undefined &&
      (BAD_HEALTH.has(before.health) || before.phase === "Failed");
    if (!wasBad && (BAD_HEALTH.has(event.health) || event.phase === "Failed")) {
      this.onTrouble(
        `Persona ${key} is ${event.health}, phase ${event.phase}.`,
      );
    }
  }

  #deployment(event: DeploymentEvent): void {
    const key = keyOf(event);
    const before = this.deployments.get(key);
    if (event.eventType === "deleted" || !before) this.shape++;
    if (event.eventType === "deleted") {
      this.deployments.delete(key);
      return;
    }
    const { eventType: _, ...summary } = event;
    this.deployments.set(key, summary);
    if (summary.rollout === "failed" && before?.rollout !== "failed") {
      this.onTrouble(`Deployment ${key}: rollout failed.`);
    }
  }

  #cluster(event: ClusterEvent): void {
    if (event.deleted) {
      this.cluster = null;
      return;
    }
    const before = this.cluster;
    const nodes = [...before?.nodes ?? []];
    if (event.eventType === "nodeAdded" && event.node) nodes.push(event.node);
    if (event.eventType === "nodeRemoved" && event.node) {
      const at = nodes.indexOf(event.node);
      if (at >= 0) nodes.splice(at, 1);
    }
    this.cluster = {
      name: event.name,
      environment: before?.environment ?? "",
      kubernetesVersion: before?.kubernetesVersion ?? "",
      platform: before?.platform ?? "",
      addons: before?.addons ?? [],
      phase: event.phase,
      nodeCount: event.nodeCount,
      applicationCount: event.applicationCount,
      nodes,
    };
    if (event.eventType === "updated") this.clusterStale = true;
    if (before?.phase === "Ready" && event.phase !== "Ready") {
      this.onTrouble(`Cluster ${event.name} is ${event.phase}.`);
    }
  }

  #event(payload: EventsTopicPayload, at: string): void {
    const logged = this.#logged(payload, at, false);
    this.events.unshift(logged);
    if (this.events.length > MAX_EVENTS) this.events.length = MAX_EVENTS;
    if (payload.kind === "validation") {
      this.stale.add(keyOf(payload));
      this.#validated(payload);
      this.changed.add("personas");
    }
    if (logged.view.type === "Warning") {
      const { namespace, object, reason, message } = logged.view;
      this.onTrouble(
        `Warning in ${namespace}: ${object.kind} ${object.name}, ${reason}: ${message}`,
      );
    }
  }

  #logged(
    payload: EventsTopicPayload,
    at: string,
    listed: boolean,
  ): LoggedEvent {
    const view = viewEvent(payload);
    this.reasons.add(view.reason);
    this.eventNamespaces.add(view.namespace);
    return { id: this.#nextId++, at: view.lastSeen ?? at, view, listed };
  }
}
