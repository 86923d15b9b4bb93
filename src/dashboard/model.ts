/**
 * What the page knows: the four topics' state as listings and events left
 * it, as this module's state (one page per document). The follower feeds
 * it; the views read it (`import * as model`). It records which sections
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

// One page per document: the model is this module's state.

/** Personas by {@link keyOf}. */
export const personas = new Map<string, PersonaSummary>();
/** Deployments by {@link keyOf}. */
export const deployments = new Map<string, DeploymentSummary>();
/** The cluster; null when there is no ClusterPersona. */
export let cluster: ClusterInfo | null = null;
/** Topics listed at least once. */
export const listed = new Set<Topic>();
/** The event log, newest first. */
export let events: LoggedEvent[] = [];
/**
 * Each persona's last validation result, by {@link keyOf}: from the
 * events topic (its history and live results) and from personas asked
 * for by name. Unknown for a persona whose result left the history.
 */
export const validations = new Map<string, ValidationSummary>();
/** Sections changed since the views last rendered. */
export const changed = new Set<Section>();
/**
 * Personas whose summary an event left incomplete (a `created` event has
 * no type or tier; an `updated` one may hide a changed type), or whose
 * validation changed: to ask the server for.
 */
export const stale = new Set<string>();
/** Personas whose validation is on screen: refreshed one by one. */
export const pinned = new Set<string>();
/** A cluster event left fields it does not carry (version, addons) unknown. */
export let clusterStale = false;
/**
 * Counts changes to what the filters offer: namespaces, healths and
 * phases (a persona or Deployment added or removed, a new value), so the
 * choices are gathered again only when they may differ.
 */
export let shape = 0;
/** Reasons the event log has shown, for its filter. */
export const reasons = new Set<string>();
/** Namespaces the event log has shown, for its filter. */
export const eventNamespaces = new Set<string>();
/** When anything last changed, as the server stamped it. */
export let lastUpdate: string | undefined;
let troubled: (text: string) => void = () => {};
let nextId = 1;

/** Calls `listener` with each newly wrong thing, in words. */
export function onTrouble(listener: (text: string) => void): void {
  troubled = listener;
}

/** Replaces a topic's state with a listing. */
export function list(topic: Topic, response: ResponseMessage | null): void {
  listed.add(topic);
  lastUpdate = response?.timestamp ?? lastUpdate;
  switch (topic) {
    case "personas":
      listPersonas(
        (response?.payload as { personas: PersonaSummary[] }).personas,
      );
      break;
    case "deployments": {
      const listing = response?.payload as {
        deployments: DeploymentSummary[];
      };
      deployments.clear();
      for (const d of listing.deployments) deployments.set(keyOf(d), d);
      shape++;
      break;
    }
    case "cluster":
      cluster = (response?.payload as ClusterInfo | undefined) ?? null;
      clusterStale = false;
      break;
    case "events":
      listEvents(
        (response?.payload as { events: EventsTopicPayload[] }).events,
        response?.timestamp ?? new Date().toISOString(),
      );
      break;
  }
  changed.add(topic);
}

function listPersonas(listing: PersonaSummary[]): void {
  const before = new Map(personas);
  personas.clear();
  for (const persona of listing) put(persona, before);
  shape++;
  for (const key of stale) {
    if (!pinned.has(key)) stale.delete(key);
  }
}

// Newest first; a validation result has no time of its own and counts as
// of the listing `at` (the sort is stable, so the server's order decides
// among equals).
function listEvents(listing: EventsTopicPayload[], at: string): void {
  events = listing.slice(-MAX_EVENTS).reverse().map((payload) =>
    logged(payload, at, true)
  ).sort((a, b) => a.at < b.at ? 1 : a.at > b.at ? -1 : 0);
  // Oldest first, so the newest result of each persona stays.
  for (const payload of listing) validated(payload);
  changed.add("personas");
}

/**
 * Puts fresh summaries of personas in place: the answer to a request for
 * one persona (`only` is its key) or one namespace (`only` is the
 * namespace), read at a position this page has already reached.
 */
export function refresh(
  fresh: PersonaSummary[],
  only: { key?: string; namespace?: string },
): void {
  const before = new Map(personas);
  const size = personas.size;
  if (only.key !== undefined) {
    // Asked for by name: the answer carries the validation as it is.
    personas.delete(only.key);
    before.delete(only.key);
    stale.delete(only.key);
  }
  if (only.namespace !== undefined) {
    for (const [key, persona] of personas) {
      if (persona.namespace === only.namespace) personas.delete(key);
    }
  }
  for (const persona of fresh) {
    put(persona, before);
    if (!pinned.has(keyOf(persona))) stale.delete(keyOf(persona));
  }
  if (personas.size !== size) shape++;
  changed.add("personas");
}

function validated(payload: EventsTopicPayload): void {
  if (payload.kind !== "validation") return;
  const { passed, issueCount, severity } = payload;
  validations.set(keyOf(payload), { passed, issueCount, severity });
}

// A listing carries no validation: keep what was asked for by name.
function put(persona: PersonaSummary, before: Map<string, PersonaSummary>) {
  const key = keyOf(persona);
  if (persona.validation) {
    const { passed, issues } = persona.validation;
    const severities = issues.map((issue) => issue.severity.toLowerCase());
    validations.set(key, {
      passed,
      issueCount: issues.length,
      severity: ["error", "warning", "info"].find((level) =>
        severities.includes(level)
      ) ?? (issues.length ? "info" : "none"),
    });
  }
  const validation = persona.validation ?? before.get(key)?.validation;
  personas.set(key, validation ? { ...persona, validation } : persona);
}

/** Applies one event. */
export function apply(message: EventMessage): void {
  lastUpdate = message.timestamp;
  switch (message.topic) {
    case "personas":
      personaEvent(message.payload as PersonaEvent);
      break;
    case "deployments":
      deploymentEvent(message.payload as DeploymentEvent);
      break;
    case "cluster":
      clusterEvent(message.payload as ClusterEvent);
      break;
    case "events":
      logEvent(message.payload as EventsTopicPayload, message.timestamp);
      break;
  }
  changed.add(message.topic);
}

function personaEvent(event: PersonaEvent): void {
  const key = keyOf(event);
  const before = personas.get(key);
  if (event.eventType === "deleted") {
    personas.delete(key);
    stale.delete(key);
    validations.delete(key);
    shape++;
    return;
  }
  if (
    !before || before.health !== event.health || before.phase !== event.phase
  ) shape++;
  personas.set(key, {
    namespace: event.namespace,
    name: event.name,
    appName: before?.appName ?? event.name,
    type: before?.type ?? "",
    tier: before?.tier ?? "",
    phase: event.phase,
    health: event.health,
    ...(before?.validation ? { validation: before.validation } : {}),
  });
  stale.add(key);
  const wasBad = before !== undefined &&
    (BAD_HEALTH.has(before.health) || before.phase === "Failed");
  if (!wasBad && (BAD_HEALTH.has(event.health) || event.phase === "Failed")) {
    troubled(`Persona ${key} is ${event.health}, phase ${event.phase}.`);
  }
}

function deploymentEvent(event: DeploymentEvent): void {
  const key = keyOf(event);
  const before = deployments.get(key);
  if (event.eventType === "deleted" || !before) shape++;
  if (event.eventType === "deleted") {
    deployments.delete(key);
    return;
  }
  const { eventType: _, ...summary } = event;
  deployments.set(key, summary);
  if (summary.rollout === "failed" && before?.rollout !== "failed") {
    troubled(`Deployment ${key}: rollout failed.`);
  }
}

function clusterEvent(event: ClusterEvent): void {
  if (event.deleted) {
    cluster = null;
    return;
  }
  const before = cluster;
  const nodes = [...before?.nodes ?? []];
  if (event.eventType === "nodeAdded" && event.node) nodes.push(event.node);
  if (event.eventType === "nodeRemoved" && event.node) {
    const at = nodes.indexOf(event.node);
    if (at >= 0) nodes.splice(at, 1);
  }
  cluster = {
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
  if (event.eventType === "updated") clusterStale = true;
  if (before?.phase === "Ready" && event.phase !== "Ready") {
    troubled(`Cluster ${event.name} is ${event.phase}.`);
  }
}

function logEvent(payload: EventsTopicPayload, at: string): void {
  const entry = logged(payload, at, false);
  events.unshift(entry);
  if (events.length > MAX_EVENTS) events.length = MAX_EVENTS;
  if (payload.kind === "validation") {
    stale.add(keyOf(payload));
    validated(payload);
    changed.add("personas");
  }
  if (entry.view.type === "Warning") {
    const { namespace, object, reason, message } = entry.view;
    troubled(
      `Warning in ${namespace}: ${object.kind} ${object.name}, ${reason}: ${message}`,
    );
  }
}

function logged(
  payload: EventsTopicPayload,
  at: string,
  listed: boolean,
): LoggedEvent {
  const view = viewEvent(payload);
  reasons.add(view.reason);
  eventNamespaces.add(view.namespace);
  return { id: nextId++, at: view.lastSeen ?? at, view, listed };
}
