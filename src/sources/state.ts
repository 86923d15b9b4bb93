/**
 * The cluster as dorgu-ws knows it: a cache of projections per resource,
 * fed by a source (the Kubernetes API or a directory of manifests). Every
 * change is diffed against the cached projection and becomes the events
 * the protocol defines, published in the same turn as the cache changes so
 * that a list and a stream position read together always agree.
 *
 * This is the one place events are derived; every source goes through it.
 */
import { inScope, QueryError, type QuerySource } from "../hub/mod.ts";
import type { Hub } from "../hub/mod.ts";
import { createLogger, type Logger } from "../log.ts";
import {
  type ClusterEvent,
  type ClusterInfo,
  DEFAULT_EVENTS_LIMIT,
  type DeploymentSummary,
  type PersonaSummary,
  type Query,
  type Topic,
  type ValidationEvent,
} from "../protocol/mod.ts";
import {
  type ClusterProjection,
  type DeploymentProjection,
  type EventProjection,
  objectKey,
  type PersonaProjection,
  PROJECT,
  ProjectionError,
  projectionKey,
  type Projections,
  type ValidationState,
} from "./projections.ts";
import { type Resource, RESOURCE_INFO, RESOURCES } from "./resources.ts";

/** Collects a full listing of one resource, then diffs it against the cache. */
export interface Resync {
  /** Adds one listed object. Objects that do not project are logged and skipped. */
  add(object: unknown): void;
  /** Replaces the cache with the listing and publishes the differences. */
  commit(): void;
}

/** Counters per resource, for `/metrics`. */
export interface ResourceStats {
  /** Objects in the cache. */
  objects: number;
  /** Objects that did not project. */
  decodeErrors: number;
  /** Whether the first listing has completed. */
  synced: boolean;
}

/** Options for {@link ClusterState}. */
export interface ClusterStateOptions {
  /** Resources the source follows; only they gate readiness. Default: all. */
  resources?: readonly Resource[];
  /**
   * Namespaces each resource is listed in, one listing each (a source
   * limited to some namespaces); absent means one cluster-wide listing.
   */
  scopes?: Partial<Record<Resource, readonly string[]>>;
  /** Where projection failures are logged. */
  log?: Logger;
}

type Caches = { [R in Resource]: Map<string, Projections[R]> };

const TOPIC_RESOURCES: Record<Exclude<Topic, "events">, Resource> = {
  personas: "personas",
  cluster: "clusters",
  deployments: "deployments",
};

/** The projection cache, event derivation and query answers. */
export class ClusterState implements QuerySource {
  #hub: Hub;
  #log: Logger;
  #caches: Caches = {
    personas: new Map(),
    clusters: new Map(),
    deployments: new Map(),
    events: new Map(),
  };
  #followed: ReadonlySet<Resource>;
  #scopes: Partial<Record<Resource, readonly string[]>>;
  // Scopes ("*" or a namespace) whose first listing has completed.
  #listed = new Map<Resource, Set<string>>();
  // Why a listing cannot complete, by resource and scope.
  #problems = new Map<Resource, Map<string, string>>();
  #decodeErrors = new Map<Resource, number>();
  // namespace/appName -> names of personas claiming that app, sorted; a
  // Deployment's persona is the first of them.
  #apps = new Map<string, string[]>();

  /** Creates an empty state publishing into `hub`. */
  constructor(hub: Hub, options: ClusterStateOptions = {}) {
    this.#hub = hub;
    this.#log = options.log ?? createLogger();
    this.#followed = new Set(options.resources ?? RESOURCES);
    this.#scopes = options.scopes ?? {};
  }

  /** Whether every followed resource has completed its first listing. */
  get ready(): boolean {
    return [...this.#followed].every((r) => this.#synced(r));
  }

  /**
   * Why each followed resource is not ready yet, by resource; empty once
   * all are. A recorded problem (a missing CRD, a refused permission) is
   * the reason while it lasts.
   */
  pending(): Map<Resource, string> {
    const pending = new Map<Resource, string>();
    for (const resource of this.#followed) {
      if (this.#synced(resource)) continue;
      pending.set(
        resource,
        this.#problemOf(resource) ?? "waiting for the first list",
      );
    }
    return pending;
  }

  /**
   * Records why `resource` (in `namespace`, when listed per namespace)
   * cannot be read, or clears it with undefined. Shown by `/ready` and in
   * `not_ready` errors.
   */
  setProblem(
    resource: Resource,
    problem: string | undefined,
    options: { namespace?: string } = {},
  ): void {
    const scope = options.namespace ?? "*";
    const problems = this.#problems.get(resource) ?? new Map();
    if (problem === undefined) problems.delete(scope);
    else problems.set(scope, problem);
    this.#problems.set(resource, problems);
  }

  #problemOf(resource: Resource): string | undefined {
    const problems = [...this.#problems.get(resource)?.values() ?? []];
    return problems.length ? problems.join("; ") : undefined;
  }

  /** Applies an added or modified object. */
  upsert(resource: Resource, object: unknown): void {
    const projection = this.#project(resource, object);
    if (projection) this.#put(resource, projection);
  }

  /** Applies a deletion. The object only needs its metadata. */
  remove(resource: Resource, object: unknown): void {
    let key: string;
    try {
      key = objectKey(resource, object);
    } catch (error) {
      this.#decodeFailed(resource, error as Error);
      return;
    }
    this.#drop(resource, key);
  }

  /**
   * Starts a full listing of `resource`. Its commit diffs the listing
   * against the cache, so changes made while the source was disconnected
   * come out as the right created, updated and deleted events. The first
   * commit of a resource only fills the cache: what existed before the
   * server started is state to list, not news to stream.
   */
  resync(resource: Resource, options: { namespace?: string } = {}): Resync {
    const listed = new Map<string, Projections[Resource]>();
    const namespace = options.namespace;
    return {
      add: (object) => {
        const projection = this.#project(resource, object);
        if (projection) {
          listed.set(projectionKey(resource, projection), projection);
        }
      },
      commit: () => {
        const projections = [...listed.values()];
        if (resource === "events") {
          // Into the log in the order they happened.
          (projections as EventProjection[]).sort((a, b) =>
            compare(a.lastTimestamp, b.lastTimestamp)
          );
        }
        for (const projection of projections) {
          this.#put(resource, projection);
        }
        for (const [key, cached] of [...this.#caches[resource]]) {
          if (listed.has(key)) continue;
          if (namespace !== undefined && namespaceOf(cached) !== namespace) {
            continue;
          }
          this.#drop(resource, key);
        }
        const scopes = this.#listed.get(resource) ?? new Set();
        scopes.add(namespace ?? "*");
        this.#listed.set(resource, scopes);
        this.#problems.get(resource)?.delete(namespace ?? "*");
      },
    };
  }

  /** Counters per resource. */
  stats(): Map<Resource, ResourceStats> {
    return new Map(RESOURCES.map((resource) => [resource, {
      objects: this.#caches[resource].size,
      decodeErrors: this.#decodeErrors.get(resource) ?? 0,
      synced: this.#synced(resource),
    }]));
  }

  /** Why `topic` cannot be answered yet; undefined once it can. */
  notReady(topic: Topic): string | undefined {
    if (topic === "events") return undefined;
    const resource = TOPIC_RESOURCES[topic];
    if (this.#synced(resource) || !this.#followed.has(resource)) {
      return undefined;
    }
    const problem = this.#problemOf(resource);
    const kind = RESOURCE_INFO[resource].kind;
    return problem
      ? `${kind} objects cannot be read yet: ${problem}`
      : `${kind} objects are still being listed; retry in a moment.`;
  }

  /** Answers a `request` from the cache (or, for events, the log). */
  answer(query: Query, scope: ReadonlySet<string> | null): unknown {
    switch (query.topic) {
      case "personas":
        return {
          personas: select(this.#caches.personas, query, scope).map(
            personaSummary,
          ),
        };
      case "deployments":
        return {
          deployments: select(this.#caches.deployments, query, scope).map(
            (d) => this.#deploymentSummary(d),
          ),
        };
      case "cluster":
        return clusterInfo(this.#pickCluster(query.name));
      case "events":
        return {
          events: this.#hub.recent("events", {
            namespace: query.namespace,
            limit: query.limit ?? DEFAULT_EVENTS_LIMIT,
            scope,
          }),
        };
    }
  }

  #synced(resource: Resource): boolean {
    const listed = this.#listed.get(resource);
    if (!listed) return false;
    return listed.has("*") ||
      (this.#scopes[resource] ?? ["*"]).every((scope) => listed.has(scope));
  }

  // Whether changes to `projection` are news: its listing has completed.
  #live(resource: Resource, projection: Projections[Resource]): boolean {
    const listed = this.#listed.get(resource);
    return !!listed &&
      (listed.has("*") || listed.has(namespaceOf(projection)));
  }

  #pickCluster(name: string | undefined): ClusterProjection {
    const clusters = [...this.#caches.clusters.values()];
    if (name !== undefined) {
      const found = clusters.find((c) =>
        c.objectName === name || c.name === name
      );
      if (!found) {
        throw new QueryError(
          "not_found",
          `No ClusterPersona is named ${
            JSON.stringify(name)
          }; request cluster without a name for the default one.`,
        );
      }
      return found;
    }
    const oldest =
      clusters.sort((a, b) =>
        compare(a.created, b.created) || compare(a.objectName, b.objectName)
      )[0];
    if (!oldest) {
      throw new QueryError(
        "not_found",
        "No ClusterPersona exists yet; the dorgu operator creates one when it discovers the cluster.",
      );
    }
    return oldest;
  }

  #project<R extends Resource>(
    resource: R,
    object: unknown,
  ): Projections[R] | undefined {
    try {
      return PROJECT[resource](object) as Projections[R];
    } catch (error) {
      if (!(error instanceof ProjectionError)) throw error;
      this.#decodeFailed(resource, error);
      return undefined;
    }
  }

  #decodeFailed(resource: Resource, error: Error): void {
    this.#decodeErrors.set(
      resource,
      (this.#decodeErrors.get(resource) ?? 0) + 1,
    );
    this.#log.warn(
      `Skipped a ${
        RESOURCE_INFO[resource].kind
      } that does not have the expected shape`,
      { resource, reason: error.message },
    );
  }

  #put<R extends Resource>(resource: R, next: Projections[R]): void {
    const key = projectionKey(resource, next);
    const cache = this.#caches[resource] as Map<string, Projections[R]>;
    const previous = cache.get(key);
    cache.set(key, next);
    this.#changed(resource, previous, next);
  }

  #drop(resource: Resource, key: string): void {
    const cache = this.#caches[resource];
    const previous = cache.get(key);
    if (previous === undefined) return;
    cache.delete(key);
    this.#changed(resource, previous, undefined);
  }

  #changed<R extends Resource>(
    resource: R,
    previous: Projections[R] | undefined,
    next: Projections[R] | undefined,
  ): void {
    const live = this.#live(resource, (previous ?? next) as Projections[R]);
    switch (resource) {
      case "personas":
        return this.#personaChanged(
          previous as PersonaProjection | undefined,
          next as PersonaProjection | undefined,
          live,
        );
      case "clusters":
        if (live) {
          clusterChanged(
            this.#hub,
            previous as ClusterProjection | undefined,
            next as ClusterProjection | undefined,
          );
        }
        return;
      case "deployments":
        if (live) {
          this.#deploymentChanged(
            previous as DeploymentProjection | undefined,
            next as DeploymentProjection | undefined,
          );
        }
        return;
      case "events":
        // Unlike the state topics, `events` is a log: what the first list
        // finds is its history, so `request events` shows recent trouble.
        eventChanged(
          this.#hub,
          previous as EventProjection | undefined,
          next as EventProjection | undefined,
        );
        return;
    }
  }

  #personaChanged(
    previous: PersonaProjection | undefined,
    next: PersonaProjection | undefined,
    live: boolean,
  ): void {
    // The app index changes only when the persona claims another app (or
    // appears, or goes): most updates are status churn and skip it.
    const relinked = previous?.appName !== next?.appName;
    const linkedBefore = new Map<string, string | undefined>();
    if (relinked) {
      for (const p of [previous, next]) {
        if (!p?.appName) continue;
        const app = `${p.namespace}/${p.appName}`;
        linkedBefore.set(app, this.#apps.get(app)?.[0]);
      }
      if (previous?.appName) this.#unclaim(previous);
      if (next?.appName) this.#claim(next);
    }

    if (live) {
      for (
        const [eventType, persona] of changes(previous, next, summaryChanged)
      ) {
        this.#publishPersona(eventType, persona);
      }
    }
    // Validation results are part of the `events` log, so the first list
    // records them too (see the events case of #changed).
    if (
      next?.validation &&
      (replacedObject(previous, next) ||
        !sameValidation(previous?.validation ?? null, next.validation))
    ) {
      publishValidation(this.#hub, next, next.validation);
    }

    // A persona's deployments live in its namespace.
    const persona = (previous ?? next) as PersonaProjection;
    if (!live || !this.#live("deployments", persona)) return;
    for (const [app, before] of linkedBefore) {
      const deployment = this.#caches.deployments.get(app);
      if (deployment && this.#apps.get(app)?.[0] !== before) {
        this.#publishDeployment("updated", deployment);
      }
    }
  }

  #claim(persona: PersonaProjection): void {
    const app = `${persona.namespace}/${persona.appName}`;
    const names = this.#apps.get(app) ?? [];
    names.push(persona.name);
    names.sort(compare);
    this.#apps.set(app, names);
  }

  #unclaim(persona: PersonaProjection): void {
    const app = `${persona.namespace}/${persona.appName}`;
    const names = this.#apps.get(app)?.filter((n) => n !== persona.name);
    if (names?.length) this.#apps.set(app, names);
    else this.#apps.delete(app);
  }

  #publishPersona(
    eventType: "created" | "updated" | "deleted",
    persona: PersonaProjection,
  ): void {
    this.#hub.publish("personas", {
      eventType,
      namespace: persona.namespace,
      name: persona.name,
      phase: persona.phase,
      health: persona.health,
    }, { namespace: persona.namespace, name: persona.name });
  }

  #deploymentChanged(
    previous: DeploymentProjection | undefined,
    next: DeploymentProjection | undefined,
  ): void {
    for (
      const [eventType, deployment] of changes(
        previous,
        next,
        deploymentChanged,
      )
    ) {
      this.#publishDeployment(eventType, deployment);
    }
  }

  #publishDeployment(
    eventType: "created" | "updated" | "deleted",
    deployment: DeploymentProjection,
  ): void {
    this.#hub.publish(
      "deployments",
      { eventType, ...this.#deploymentSummary(deployment) },
      { namespace: deployment.namespace, name: deployment.name },
    );
  }

  #deploymentSummary(d: DeploymentProjection): DeploymentSummary {
    const summary: DeploymentSummary = {
      namespace: d.namespace,
      name: d.name,
      replicas: d.replicas,
      readyReplicas: d.readyReplicas,
      updatedReplicas: d.updatedReplicas,
      availableReplicas: d.availableReplicas,
      images: d.images,
      rollout: d.rollout,
    };
    const persona = this.#apps.get(`${d.namespace}/${d.name}`)?.[0];
    if (persona !== undefined) summary.persona = persona;
    return summary;
  }
}

// The same key with another uid: deleted and created again while the
// source was not looking.
function replacedObject(
  previous: { uid: string } | undefined,
  next: { uid: string } | undefined,
): boolean {
  return !!previous?.uid && !!next?.uid && previous.uid !== next.uid;
}

/**
 * The created/updated/deleted events one object's change amounts to;
 * `updated` only when `changed` says a field the protocol shows differs.
 */
function changes<P extends { uid: string }>(
  previous: P | undefined,
  next: P | undefined,
  changed: (a: P, b: P) => boolean,
): ["created" | "updated" | "deleted", P][] {
  if (previous && next) {
    if (replacedObject(previous, next)) {
      return [["deleted", previous], ["created", next]];
    }
    return changed(previous, next) ? [["updated", next]] : [];
  }
  if (next) return [["created", next]];
  if (previous) return [["deleted", previous]];
  return [];
}

function namespaceOf(projection: Projections[Resource]): string {
  return "namespace" in projection ? projection.namespace : "*";
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function select<P extends { namespace: string; name: string }>(
  cache: Map<string, P>,
  query: { namespace?: string; name?: string },
  scope: ReadonlySet<string> | null,
): P[] {
  const picked: P[] = [];
  for (const item of cache.values()) {
    if (query.namespace !== undefined && item.namespace !== query.namespace) {
      continue;
    }
    if (query.name !== undefined && item.name !== query.name) continue;
    if (!inScope(scope, item.namespace)) continue;
    picked.push(item);
  }
  return picked.sort((a, b) =>
    compare(a.namespace, b.namespace) || compare(a.name, b.name)
  );
}

function personaSummary(p: PersonaProjection): PersonaSummary {
  return {
    namespace: p.namespace,
    name: p.name,
    appName: p.appName,
    type: p.type,
    tier: p.tier,
    phase: p.phase,
    health: p.health,
  };
}

function summaryChanged(a: PersonaProjection, b: PersonaProjection): boolean {
  return a.appName !== b.appName || a.type !== b.type || a.tier !== b.tier ||
    a.phase !== b.phase || a.health !== b.health;
}

function sameValidation(
  a: ValidationState | null,
  b: ValidationState | null,
): boolean {
  if (a === null || b === null) return a === b;
  return a.passed === b.passed && a.issues.length === b.issues.length &&
    a.issues.every((issue, i) =>
      issue.severity === b.issues[i].severity &&
      issue.message === b.issues[i].message
    );
}

const SEVERITY_RANK = ["info", "warning", "error"] as const;

function publishValidation(
  hub: Hub,
  persona: PersonaProjection,
  validation: ValidationState,
): void {
  let rank = -1;
  for (const issue of validation.issues) {
    rank = Math.max(
      rank,
      SEVERITY_RANK.indexOf(
        issue.severity.toLowerCase() as typeof SEVERITY_RANK[number],
      ),
    );
  }
  const payload: ValidationEvent = {
    kind: "validation",
    namespace: persona.namespace,
    name: persona.name,
    passed: validation.passed,
    issueCount: validation.issues.length,
    severity: validation.issues.length === 0
      ? "none"
      : SEVERITY_RANK[Math.max(rank, 0)],
    issues: validation.issues.map((issue) => issue.message),
  };
  hub.publish("events", payload, {
    namespace: persona.namespace,
    name: persona.name,
  });
}

function clusterInfo(c: ClusterProjection): ClusterInfo {
  return {
    name: c.name,
    environment: c.environment,
    phase: c.phase,
    kubernetesVersion: c.kubernetesVersion,
    platform: c.platform,
    nodeCount: c.nodes.length,
    applicationCount: c.applicationCount,
    addons: c.addons,
  };
}

function clusterChanged(
  hub: Hub,
  previous: ClusterProjection | undefined,
  next: ClusterProjection | undefined,
): void {
  const current = (next ?? previous) as ClusterProjection;
  const before = new Set(previous?.nodes ?? []);
  const after = new Set(next?.nodes ?? []);
  const publish = (event: Omit<ClusterEvent, "name">) =>
    hub.publish("cluster", { ...event, name: current.name }, {
      name: current.name,
      alias: current.objectName,
    });
  // Node events carry the count as it stands after that node's change.
  let nodeCount = before.size;
  for (const node of after) {
    if (before.has(node)) continue;
    publish({
      eventType: "nodeAdded",
      node,
      phase: current.phase,
      nodeCount: ++nodeCount,
      applicationCount: current.applicationCount,
    });
  }
  for (const node of before) {
    if (after.has(node)) continue;
    publish({
      eventType: "nodeRemoved",
      node,
      phase: current.phase,
      nodeCount: --nodeCount,
      applicationCount: current.applicationCount,
    });
  }
  if (!next) {
    publish({
      eventType: "updated",
      phase: current.phase,
      nodeCount: 0,
      applicationCount: current.applicationCount,
      deleted: true,
    });
  } else if (!previous || clusterInfoChanged(previous, next)) {
    publish({
      eventType: "updated",
      phase: next.phase,
      nodeCount: next.nodes.length,
      applicationCount: next.applicationCount,
    });
  }
}

function clusterInfoChanged(
  a: ClusterProjection,
  b: ClusterProjection,
): boolean {
  return a.name !== b.name || a.environment !== b.environment ||
    a.phase !== b.phase || a.kubernetesVersion !== b.kubernetesVersion ||
    a.platform !== b.platform || a.applicationCount !== b.applicationCount ||
    a.addons.join("\n") !== b.addons.join("\n");
}

function deploymentChanged(
  a: DeploymentProjection,
  b: DeploymentProjection,
): boolean {
  return a.replicas !== b.replicas || a.readyReplicas !== b.readyReplicas ||
    a.updatedReplicas !== b.updatedReplicas ||
    a.availableReplicas !== b.availableReplicas || a.rollout !== b.rollout ||
    a.images.join("\n") !== b.images.join("\n");
}

function eventChanged(
  hub: Hub,
  previous: EventProjection | undefined,
  next: EventProjection | undefined,
): void {
  // An Event expiring from the API is housekeeping, not news.
  if (!next) return;
  if (
    previous && previous.uid === next.uid && previous.count === next.count &&
    previous.lastTimestamp === next.lastTimestamp &&
    previous.message === next.message && previous.type === next.type &&
    previous.reason === next.reason
  ) return;
  hub.publish("events", {
    kind: "kubernetes",
    namespace: next.namespace,
    name: next.name,
    type: next.type,
    reason: next.reason,
    message: next.message,
    involvedObject: next.involvedObject,
    count: next.count,
    lastTimestamp: next.lastTimestamp,
  }, {
    namespace: next.namespace,
    name: next.name,
    alias: next.involvedObject.name,
  });
}
