/**
 * The sources' side of the server, assembled: a {@link Store} the source
 * fills, the app index, the derivation of events from every change, and
 * the {@link Queries} over the store. Each change's events go to the sink
 * in the same turn as the cache changes, so a list and a stream position
 * read together always agree.
 *
 * @module
 */
import { AppIndex } from "./app_index.ts";
import type { Change } from "./change.ts";
import { clusterPersonaEvents } from "./cluster_personas.ts";
import { deploymentEvent, deploymentEvents } from "./deployments.ts";
import { kubernetesEvents, validationEvents } from "./events.ts";
import { personaEvents } from "./personas.ts";
import type { DeploymentProjection } from "./projections.ts";
import { Queries } from "./queries.ts";
import type { EventSink, Publication } from "./sink.ts";
import { Store, type StoreOptions } from "./store.ts";

/** What the server gets from {@link createState}. */
export interface State {
  /** The cache a source fills; its readiness and stats. */
  readonly store: Store;
  /** Answers to `request`, without authorization. */
  readonly queries: Queries;
}

/**
 * Creates an empty store whose every change is derived into events and
 * published to `sink`, and the queries over it.
 */
export function createState(
  sink: EventSink,
  options: StoreOptions = {},
): State {
  const store = new Store(options);
  const apps = new AppIndex();
  store.onChange((change) => {
    for (const event of eventsOf(change, { store, apps })) {
      sink.publish(event.topic, event.payload, event.keys);
    }
  });
  return { store, queries: new Queries(store, apps) };
}

/**
 * The events one change amounts to, in publishing order. A persona's
 * change also updates the app index: when the persona a Deployment links
 * to changes, so does that Deployment's event.
 */
function eventsOf(
  change: Change,
  context: { store: Store; apps: AppIndex },
): Publication[] {
  const { store, apps } = context;
  switch (change.resource) {
    case "personas": {
      const relinked = apps.relink(change.previous, change.next);
      const events = [...personaEvents(change), ...validationEvents(change)];
      // A persona's Deployments live in its namespace.
      const namespace = (change.previous ?? change.next)?.namespace;
      if (change.initial || !store.readiness.listed("deployments", namespace)) {
        return events;
      }
      for (const app of relinked) {
        const deployment = store.get("deployments", app);
        if (!deployment) continue;
        events.push(deploymentEvent("updated", deployment, {
          persona: apps.personaOf(deployment.namespace, deployment.name),
        }));
      }
      return events;
    }
    case "clusters":
      return clusterPersonaEvents(change);
    case "deployments": {
      const { namespace, name } = (change.previous ??
        change.next) as DeploymentProjection;
      return deploymentEvents(change, {
        persona: apps.personaOf(namespace, name),
      });
    }
    case "events":
      return kubernetesEvents(change);
  }
}
