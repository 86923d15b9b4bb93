/**
 * Events filtered and ordered the way `kubectl events` does (`--types`,
 * `--for`, oldest first), as `protocol/event_view.ts` reads them.
 *
 * @module
 */
import type { EventView } from "../protocol/mod.ts";

/** `get events` / `watch events` filters. */
export interface EventFilter {
  /** Only this type (`Normal`, `Warning`), case-insensitive. */
  type?: string;
  /** Only this reason, case-insensitive. */
  reason?: string;
  /** Only events about this object: a kind (as Events name it) and name. */
  about?: { kind: string; name: string };
}

// What `--for` accepts before the slash, as Events name the kind.
const KINDS: Record<string, string> = {
  persona: "ApplicationPersona",
  personas: "ApplicationPersona",
  ap: "ApplicationPersona",
  applicationpersona: "ApplicationPersona",
  applicationpersonas: "ApplicationPersona",
  cp: "ClusterPersona",
  cluster: "ClusterPersona",
  clusterpersona: "ClusterPersona",
  clusterpersonas: "ClusterPersona",
  deploy: "Deployment",
  deployment: "Deployment",
  deployments: "Deployment",
  po: "Pod",
  pod: "Pod",
  pods: "Pod",
  rs: "ReplicaSet",
  replicaset: "ReplicaSet",
  replicasets: "ReplicaSet",
  node: "Node",
  nodes: "Node",
  no: "Node",
};

/**
 * Parses `--for KIND/NAME` (`persona/web`, `deploy/api`, `pod/api-7f9`);
 * undefined when it is not of that form.
 */
export function parseFor(
  raw: string,
): { kind: string; name: string } | undefined {
  const match = /^([A-Za-z][A-Za-z0-9.]*)\/([^/\s]+)$/.exec(raw.trim());
  if (!match) return undefined;
  const word = match[1].toLowerCase().replace(/\..*$/, "");
  const kind = KINDS[word] ??
    match[1].charAt(0).toUpperCase() + match[1].slice(1).replace(/\..*$/, "");
  return { kind, name: match[2] };
}

/** Whether `view` passes `filter`. */
export function eventMatches(view: EventView, filter: EventFilter): boolean {
  const same = (a: string, b: string) => a.toLowerCase() === b.toLowerCase();
  if (filter.type && !same(view.type, filter.type)) return false;
  if (filter.reason && !same(view.reason, filter.reason)) return false;
  if (
    filter.about &&
    !(same(view.object.kind, filter.about.kind) &&
      view.object.name === filter.about.name)
  ) return false;
  return true;
}

/**
 * Oldest first, as `kubectl events` lists them: Kubernetes Events by when
 * they were last seen. A validation result has no time of its own; it keeps
 * its place in the server's log, after the Event logged before it.
 */
export function sortEvents(views: EventView[]): EventView[] {
  let before = "";
  const keyed = views.map((view, index) => {
    if (view.lastSeen) before = view.lastSeen;
    return { view, index, key: view.lastSeen ?? before };
  });
  keyed.sort((a, b) =>
    a.key < b.key ? -1 : a.key > b.key ? 1 : a.index - b.index
  );
  return keyed.map(({ view }) => view);
}
