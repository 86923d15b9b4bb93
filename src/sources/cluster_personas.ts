/**
 * ClusterPersonas on the `cluster` topic: the answer to `request cluster`,
 * and the events a ClusterPersona's change amounts to (one per node added
 * or removed, then `updated` when anything else shown changed).
 *
 * @module
 */
import type { ClusterEvent, ClusterInfo } from "../protocol/mod.ts";
import type { ChangeOf } from "./change.ts";
import type { ClusterProjection } from "./projections.ts";
import type { Publication } from "./sink.ts";

/** A ClusterPersona as `request cluster` answers it. */
export function clusterInfo(c: ClusterProjection): ClusterInfo {
  return {
    name: c.name,
    environment: c.environment,
    phase: c.phase,
    kubernetesVersion: c.kubernetesVersion,
    platform: c.platform,
    nodeCount: c.nodes.length,
    applicationCount: c.applicationCount,
    addons: c.addons,
    nodes: c.nodes,
  };
}

/**
 * The `cluster` events of one change. Node events carry the node count as
 * it stands after that node's change; a deletion ends with an `updated`
 * event marked `deleted`. None for the first listing.
 */
export function clusterPersonaEvents(
  change: ChangeOf<"clusters">,
): Publication[] {
  const { previous, next } = change;
  if (change.initial) return [];
  const current = (next ?? previous) as ClusterProjection;
  const before = new Set(previous?.nodes ?? []);
  const after = new Set(next?.nodes ?? []);
  const events: Publication[] = [];
  const publish = (event: Omit<ClusterEvent, "name">) =>
    events.push({
      topic: "cluster",
      payload: { ...event, name: current.name },
      keys: { name: current.name, alias: current.objectName },
    });
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
  return events;
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
