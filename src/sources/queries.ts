/**
 * Answers to `request` from the store, like client-go's listers: what
 * matches the query's namespace and name, sorted. Queries know nothing of
 * who asks; the server keeps a client to the namespaces it may see.
 * `request events` is not answered here: the events topic is a log, and
 * the server answers it from the hub's history.
 *
 * A refusal is a value, not an exception: a {@link Lookup} that did not
 * find anything carries the message the server sends as `not_found`.
 *
 * @module
 */
import type {
  ClusterInfo,
  DeploymentSummary,
  PersonaSummary,
  Topic,
} from "../protocol/mod.ts";
import type { AppIndex } from "./app_index.ts";
import { compareText } from "./change.ts";
import { clusterInfo } from "./cluster_personas.ts";
import { deploymentSummary } from "./deployments.ts";
import { personaDetail, personaSummary } from "./personas.ts";
import type { ClusterProjection } from "./projections.ts";
import type { Resource } from "./resources.ts";
import type { Store } from "./store.ts";

/** What `request personas` and `request deployments` select by. */
export interface ListQuery {
  /** Only objects in this namespace, if set. */
  namespace?: string;
  /** Only objects with this name, if set. */
  name?: string;
}

/** A found value, or why nothing was found (sent as `not_found`). */
export type Lookup<T> = { ok: true; value: T } | { ok: false; reason: string };

const TOPIC_RESOURCES: Record<Exclude<Topic, "events">, Resource> = {
  personas: "personas",
  cluster: "clusters",
  deployments: "deployments",
};

/** Read-only answers over a {@link Store} and its {@link AppIndex}. */
export class Queries {
  #store: Store;
  #apps: AppIndex;

  /** Creates the queries over `store`, linking Deployments through `apps`. */
  constructor(store: Store, apps: AppIndex) {
    this.#store = store;
    this.#apps = apps;
  }

  /** Why `topic` cannot be answered yet; undefined once it can. */
  notReady(topic: Topic): string | undefined {
    if (topic === "events") return undefined;
    return this.#store.readiness.notReady(TOPIC_RESOURCES[topic]);
  }

  /**
   * Personas matching `query`, by namespace then name; with their
   * validation when the query names one.
   */
  personas(query: ListQuery): PersonaSummary[] {
    return select(this.#store.list("personas"), query).map(
      query.name === undefined ? personaSummary : personaDetail,
    );
  }

  /** Deployments matching `query`, by namespace then name. */
  deployments(query: ListQuery): DeploymentSummary[] {
    return select(this.#store.list("deployments"), query).map((d) =>
      deploymentSummary(d, this.#apps.personaOf(d.namespace, d.name))
    );
  }

  /**
   * The ClusterPersona named `name` (its `metadata.name` or `spec.name`),
   * or without a name the oldest one: the cluster dorgu-ws serves.
   */
  clusterPersona(name: string | undefined): Lookup<ClusterInfo> {
    const found = pickClusterPersona(this.#store.list("clusters"), name);
    return found.ok ? { ok: true, value: clusterInfo(found.value) } : found;
  }
}

function pickClusterPersona(
  clusters: ClusterProjection[],
  name: string | undefined,
): Lookup<ClusterProjection> {
  if (name !== undefined) {
    const found = clusters.find((c) =>
      c.objectName === name || c.name === name
    );
    return found ? { ok: true, value: found } : {
      ok: false,
      reason: `No ClusterPersona is named ${
        JSON.stringify(name)
      }; leave the name out for the cluster's own (the oldest ClusterPersona).`,
    };
  }
  const oldest = clusters.sort((a, b) =>
    compareText(a.created, b.created) ||
    compareText(a.objectName, b.objectName)
  )[0];
  return oldest ? { ok: true, value: oldest } : {
    ok: false,
    reason:
      "No ClusterPersona exists yet; the dorgu operator creates one when it discovers the cluster.",
  };
}

function select<P extends { namespace: string; name: string }>(
  items: P[],
  query: ListQuery,
): P[] {
  return items.filter((item) =>
    (query.namespace === undefined || item.namespace === query.namespace) &&
    (query.name === undefined || item.name === query.name)
  ).sort((a, b) =>
    compareText(a.namespace, b.namespace) || compareText(a.name, b.name)
  );
}
