/**
 * Deployments on the `deployments` topic: the summary `request
 * deployments` lists (with the persona the app index links it to), and the
 * events a Deployment's change amounts to.
 *
 * @module
 */
import type { DeploymentSummary } from "../protocol/mod.ts";
import { type ChangeOf, type ChangeType, changeTypes } from "./change.ts";
import type { DeploymentProjection } from "./projections.ts";
import type { Publication } from "./sink.ts";

/** A Deployment as `request deployments` lists it. */
export function deploymentSummary(
  d: DeploymentProjection,
  persona: string | undefined,
): DeploymentSummary {
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
  if (persona !== undefined) summary.persona = persona;
  return summary;
}

/** One `deployments` event about `d`, linked to `persona`. */
export function deploymentEvent(
  eventType: ChangeType,
  d: DeploymentProjection,
  options: { persona: string | undefined },
): Publication {
  return {
    topic: "deployments",
    payload: { eventType, ...deploymentSummary(d, options.persona) },
    keys: { namespace: d.namespace, name: d.name },
  };
}

/**
 * The `deployments` events of one change: created, deleted, and updated
 * when counters, images or the rollout state changed. None for the first
 * listing. `persona` is the one the app index links the Deployment to.
 */
export function deploymentEvents(
  change: ChangeOf<"deployments">,
  options: { persona: string | undefined },
): Publication[] {
  if (change.initial) return [];
  return changeTypes(change, deploymentChanged).map(([eventType, d]) =>
    deploymentEvent(eventType, d, options)
  );
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
