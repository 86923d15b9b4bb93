/**
 * The payloads the server sends, as valibot schemas. Field names are the
 * seed's, exactly; fields the seed does not have are marked as extensions.
 * The client validates what it receives against these, so a server that
 * drifts from the contract is caught by the client's own tests.
 *
 * @module
 */
import * as v from "valibot";
import type { Topic } from "./shapes.ts";

/** One issue of a persona's validation, as the operator reports it. */
export const ValidationIssueSchema = v.object({
  severity: v.string(),
  message: v.string(),
});

/** A persona's `status.validation`. */
export const PersonaValidationSchema = v.object({
  passed: v.boolean(),
  issues: v.array(ValidationIssueSchema),
});

/** One ApplicationPersona as `request personas` lists it. */
export const PersonaSummarySchema = v.object({
  namespace: v.string(),
  name: v.string(),
  appName: v.string(),
  type: v.string(),
  tier: v.string(),
  phase: v.string(),
  health: v.string(),
  /**
   * Extension: the persona's validation, only in answers to a request that
   * names one persona (detail on demand keeps listings of thousands small).
   */
  validation: v.optional(PersonaValidationSchema),
});

/** The answer to `request cluster`. */
export const ClusterInfoSchema = v.object({
  name: v.string(),
  environment: v.string(),
  phase: v.string(),
  kubernetesVersion: v.string(),
  platform: v.string(),
  nodeCount: v.number(),
  applicationCount: v.number(),
  addons: v.array(v.string()),
  /** Extension: the names of the nodes `nodeCount` counts. */
  nodes: v.optional(v.array(v.string())),
});

/** A Deployment as `request deployments` lists it. */
export const DeploymentSummarySchema = v.object({
  namespace: v.string(),
  name: v.string(),
  replicas: v.number(),
  readyReplicas: v.number(),
  updatedReplicas: v.number(),
  availableReplicas: v.number(),
  images: v.array(v.string()),
  rollout: v.picklist(["progressing", "complete", "failed"]),
  persona: v.optional(v.string()),
});

/** Deployment rollout state derived from its conditions and counters. */
export type RolloutState = import("./shapes.ts").DeploymentSummary["rollout"];

/** Created, updated or deleted: the change an event reports. */
export const ChangeTypeSchema = v.picklist(["created", "updated", "deleted"]);

/** `personas` topic event. */
export const PersonaEventSchema = v.object({
  eventType: ChangeTypeSchema,
  namespace: v.string(),
  name: v.string(),
  phase: v.string(),
  health: v.string(),
});

/** `cluster` topic event. */
export const ClusterEventSchema = v.object({
  eventType: v.picklist(["updated", "nodeAdded", "nodeRemoved"]),
  name: v.string(),
  phase: v.string(),
  nodeCount: v.number(),
  applicationCount: v.number(),
  /** Extension: the node that was added or removed. */
  node: v.optional(v.string()),
  /** Extension: set on the last `updated` event of a deleted ClusterPersona. */
  deleted: v.optional(v.boolean()),
});

/** Highest severity among validation issues; `none` when there are none. */
export const SeveritySchema = v.picklist(["error", "warning", "info", "none"]);

/** `events` topic event sent when a persona's `status.validation` changes. */
export const ValidationEventSchema = v.object({
  /** Extension: tells the two kinds of `events` payloads apart. */
  kind: v.literal("validation"),
  namespace: v.string(),
  name: v.string(),
  passed: v.boolean(),
  issueCount: v.number(),
  severity: SeveritySchema,
  issues: v.array(v.string()),
});

/** `events` topic event carrying a core/v1 Event. */
export const KubernetesEventSchema = v.object({
  kind: v.literal("kubernetes"),
  namespace: v.string(),
  name: v.string(),
  type: v.string(),
  reason: v.string(),
  message: v.string(),
  involvedObject: v.object({
    kind: v.string(),
    namespace: v.string(),
    name: v.string(),
  }),
  count: v.number(),
  lastTimestamp: v.string(),
});

/** Anything the `events` topic carries. */
export const EventsTopicPayloadSchema = v.variant("kind", [
  ValidationEventSchema,
  KubernetesEventSchema,
]);

/** `deployments` topic event. */
export const DeploymentEventSchema = v.object({
  eventType: ChangeTypeSchema,
  ...DeploymentSummarySchema.entries,
});

/** The payload of an `event`, by topic. */
export const EVENT_PAYLOADS = {
  personas: PersonaEventSchema,
  cluster: ClusterEventSchema,
  deployments: DeploymentEventSchema,
  events: EventsTopicPayloadSchema,
} as const satisfies Record<Topic, v.GenericSchema>;

/** The payload of the `response` to `request`, by topic. */
export const LISTING_PAYLOADS = {
  personas: v.object({ personas: v.array(PersonaSummarySchema) }),
  cluster: ClusterInfoSchema,
  deployments: v.object({ deployments: v.array(DeploymentSummarySchema) }),
  events: v.object({ events: v.array(EventsTopicPayloadSchema) }),
} as const satisfies Record<Topic, v.GenericSchema>;
