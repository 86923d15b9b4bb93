/**
 * What a command asks of the API server, and nothing more: the resources
 * its topic is made of, in the one namespace under `-n`, one object for a
 * single NAME. A topic needs more than its own resource where the server
 * derives fields from another: a Deployment's `persona` column comes from
 * the ApplicationPersonas of its namespace, and the events topic carries
 * the personas' validation results beside the core/v1 Events.
 *
 * @module
 */
import type { Topic } from "../protocol/mod.ts";
import { type Resource, RESOURCE_INFO } from "../sources/resources.ts";
import type { StoreOptions } from "../sources/store.ts";

/** One collection to read: a resource, where, and possibly one name. */
export interface Reading {
  /** The resource. */
  resource: Resource;
  /** The namespace, for a namespaced resource read in one. */
  namespace?: string;
  /** Only the object of this name (`fieldSelector=metadata.name=...`). */
  name?: string;
}

/** What the command line asked for. */
export interface Want {
  /** The topic. */
  topic: Topic;
  /** One namespace (`-n`), or all. */
  namespace?: string;
  /** The names asked for; empty for all. */
  names: readonly string[];
}

/**
 * The collections `want` needs, in the order the server's informers are
 * started (personas first), which is the order the events topic's history
 * is seeded in.
 */
export function readingsFor(want: Want): Reading[] {
  const namespace = want.namespace;
  // One name: the API server selects it. Several: the namespace's list,
  // which a server would hold anyway.
  const name = want.names.length === 1 ? want.names[0] : undefined;
  switch (want.topic) {
    case "personas":
      return [{ resource: "personas", namespace, name }];
    case "cluster":
      // A ClusterPersona is asked for by metadata.name or spec.name, and a
      // cluster has one or two: read them all.
      return [{ resource: "clusters" }];
    case "deployments":
      return [
        { resource: "personas", namespace },
        { resource: "deployments", namespace, name },
      ];
    case "events":
      return [
        { resource: "personas", namespace },
        { resource: "events", namespace },
      ];
  }
}

/**
 * The store options for `readings`: only their resources gate readiness,
 * each listed in the namespace it is read in.
 */
export function storeOptionsFor(readings: readonly Reading[]): StoreOptions {
  const namespaces: StoreOptions["namespaces"] = {};
  for (const { resource, namespace } of readings) {
    if (namespace !== undefined && RESOURCE_INFO[resource].namespaced) {
      namespaces[resource] = [namespace];
    }
  }
  return { resources: readings.map((r) => r.resource), namespaces };
}
