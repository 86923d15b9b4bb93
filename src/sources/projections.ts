/**
 * Object -> projection: the few fields of each Kubernetes object the
 * protocol needs, validated with valibot. Only projections are cached, so
 * memory per object stays small however large the objects are; the
 * fields' bounds are in `fields.ts`.
 *
 * @module
 */
import * as v from "valibot";
import type {
  DeploymentSummary,
  KubernetesEvent,
  PersonaSummary,
  PersonaValidation,
  RolloutState,
} from "../protocol/mod.ts";
import { describeIssues } from "../protocol/mod.ts";
import {
  Count,
  MAX_LIST_ITEMS,
  MAX_NODES,
  Message,
  Metadata,
  ShortName,
  Text,
} from "./fields.ts";
import type { Resource } from "./resources.ts";

// A list field of at most `max` entries, absent or null reading as []. The
// length is checked before any entry is looked at.
const list = <S extends v.GenericSchema>(item: S, max: number) =>
  v.nullish(
    v.pipe(
      v.array(v.unknown()),
      v.maxLength(max, `must have at most ${max} entries`),
      v.array(item),
    ),
    [],
  );
// An optional nested object: absent or null reads as {}, so its own
// defaults still apply.
const Obj = <T extends v.ObjectEntries>(entries: T) =>
  v.pipe(
    v.nullish(v.record(v.string(), v.unknown()), {}),
    v.object(entries),
  );

/** `status.validation` of an ApplicationPersona, as the protocol carries it. */
export type ValidationState = PersonaValidation;

/**
 * The cached form of an ApplicationPersona: its summary as `request
 * personas` lists it, its uid, and its validation (null when it has none).
 */
export interface PersonaProjection extends Omit<PersonaSummary, "validation"> {
  uid: string;
  validation: ValidationState | null;
}

/** The cached form of a ClusterPersona. */
export interface ClusterProjection {
  uid: string;
  /** `metadata.name`. */
  objectName: string;
  /** `spec.name`, or `metadata.name` when unset. */
  name: string;
  environment: string;
  phase: string;
  kubernetesVersion: string;
  platform: string;
  nodes: string[];
  applicationCount: number;
  addons: string[];
  created: string;
}

/**
 * The cached form of a Deployment: its summary as `request deployments`
 * lists it, but the persona that claims it (the app index knows that),
 * and its uid.
 */
export interface DeploymentProjection
  extends Omit<DeploymentSummary, "persona"> {
  uid: string;
}

/**
 * The cached form of a core/v1 Event: what the `events` topic sends of it
 * (but its `kind`), and its uid.
 */
export interface EventProjection extends Omit<KubernetesEvent, "kind"> {
  uid: string;
}

/** Projection type by resource. */
export interface Projections {
  personas: PersonaProjection;
  clusters: ClusterProjection;
  deployments: DeploymentProjection;
  events: EventProjection;
}

const PersonaSchema = v.object({
  metadata: Metadata,
  spec: Obj({ name: ShortName, type: Text, tier: Text }),
  status: Obj({
    phase: Text,
    health: Obj({ status: Text }),
    validation: v.nullish(v.object({
      passed: v.nullish(v.boolean(), false),
      issues: list(
        v.object({ severity: Text, message: Message }),
        MAX_LIST_ITEMS,
      ),
    })),
  }),
});

const ClusterSchema = v.object({
  metadata: Metadata,
  spec: Obj({ name: ShortName, environment: Text }),
  status: Obj({
    phase: Text,
    kubernetesVersion: Text,
    platform: Text,
    applicationCount: Count,
    nodes: list(v.object({ name: ShortName }), MAX_NODES),
    addons: list(
      v.object({ name: Text, installed: v.nullish(v.boolean()) }),
      MAX_LIST_ITEMS,
    ),
  }),
});

const Condition = v.object({ type: Text, status: Text, reason: Text });

const DeploymentSchema = v.object({
  metadata: Metadata,
  spec: Obj({
    replicas: v.nullish(v.number()),
    template: Obj({
      spec: Obj({
        containers: list(v.object({ image: Text }), MAX_LIST_ITEMS),
      }),
    }),
  }),
  status: Obj({
    observedGeneration: v.nullish(v.number()),
    replicas: Count,
    readyReplicas: Count,
    updatedReplicas: Count,
    availableReplicas: Count,
    conditions: list(Condition, MAX_LIST_ITEMS),
  }),
});

const EventSchema = v.object({
  metadata: Metadata,
  type: Text,
  reason: Text,
  message: Message,
  involvedObject: Obj({ kind: Text, namespace: Text, name: ShortName }),
  count: v.nullish(v.number()),
  lastTimestamp: Text,
  eventTime: Text,
  series: Obj({ count: v.nullish(v.number()), lastObservedTime: Text }),
});

/** Thrown when an object does not have the shape its kind requires. */
export class ProjectionError extends Error {
  /** Creates the error from a one-line reason. */
  constructor(message: string) {
    super(message);
    this.name = "ProjectionError";
  }
}

function parse<S extends v.GenericSchema>(
  schema: S,
  object: unknown,
): v.InferOutput<S> {
  const result = v.safeParse(schema, object);
  if (!result.success) {
    throw new ProjectionError(describeIssues(result.issues, ""));
  }
  return result.output;
}

/** Projects an ApplicationPersona. */
export function projectPersona(object: unknown): PersonaProjection {
  const { metadata, spec, status } = parse(PersonaSchema, object);
  const validation = status.validation;
  return {
    uid: metadata.uid,
    namespace: metadata.namespace || "default",
    name: metadata.name,
    appName: spec.name,
    type: spec.type,
    tier: spec.tier,
    phase: status.phase,
    health: status.health.status,
    validation: validation
      ? { passed: validation.passed, issues: validation.issues }
      : null,
  };
}

/** Projects a ClusterPersona. */
export function projectCluster(object: unknown): ClusterProjection {
  const { metadata, spec, status } = parse(ClusterSchema, object);
  return {
    uid: metadata.uid,
    objectName: metadata.name,
    name: spec.name || metadata.name,
    environment: spec.environment,
    phase: status.phase,
    kubernetesVersion: status.kubernetesVersion,
    platform: status.platform,
    nodes: [...new Set(status.nodes.map((node) => node.name))],
    applicationCount: status.applicationCount,
    addons: status.addons.filter((addon) => addon.installed === true).map((
      addon,
    ) => addon.name),
    created: metadata.creationTimestamp,
  };
}

/** Projects an apps/v1 Deployment. */
export function projectDeployment(object: unknown): DeploymentProjection {
  const { metadata, spec, status } = parse(DeploymentSchema, object);
  const replicas = spec.replicas ?? 1;
  return {
    uid: metadata.uid,
    namespace: metadata.namespace || "default",
    name: metadata.name,
    replicas,
    readyReplicas: status.readyReplicas,
    updatedReplicas: status.updatedReplicas,
    availableReplicas: status.availableReplicas,
    images: spec.template.spec.containers.map((c) => c.image),
    rollout: rolloutOf(replicas, metadata.generation, status),
  };
}

/**
 * Rollout state the way `kubectl rollout status` judges it: failed when the
 * progress deadline passed or pods cannot be created; complete when the
 * controller has seen the newest spec and every replica is updated and
 * available; otherwise progressing.
 */
function rolloutOf(
  desired: number,
  generation: number | null | undefined,
  status: v.InferOutput<typeof DeploymentSchema>["status"],
): RolloutState {
  const condition = (type: string) =>
    status.conditions.find((c) => c.type === type);
  const progressing = condition("Progressing");
  if (
    progressing?.reason === "ProgressDeadlineExceeded" ||
    condition("ReplicaFailure")?.status === "True"
  ) {
    return "failed";
  }
  const observed = generation === null || generation === undefined ||
    (status.observedGeneration ?? 0) >= generation;
  if (
    observed &&
    status.updatedReplicas >= desired &&
    status.replicas <= status.updatedReplicas &&
    status.availableReplicas >= status.updatedReplicas
  ) {
    return "complete";
  }
  return "progressing";
}

/** Projects a core/v1 Event (or one written through events.k8s.io). */
export function projectEvent(object: unknown): EventProjection {
  const event = parse(EventSchema, object);
  const { metadata, involvedObject } = event;
  return {
    uid: metadata.uid,
    namespace: metadata.namespace || "default",
    name: metadata.name,
    type: event.type || "Normal",
    reason: event.reason,
    message: event.message,
    involvedObject: {
      kind: involvedObject.kind,
      namespace: involvedObject.namespace,
      name: involvedObject.name,
    },
    count: event.count ?? event.series.count ?? 1,
    lastTimestamp: event.lastTimestamp || event.series.lastObservedTime ||
      event.eventTime || metadata.creationTimestamp,
  };
}

/** The projection function of each resource. */
export const PROJECT: { [R in Resource]: (object: unknown) => Projections[R] } =
  {
    personas: projectPersona,
    clusters: projectCluster,
    deployments: projectDeployment,
    events: projectEvent,
  };

const KeySchema = v.object({
  metadata: v.object({ name: v.string(), namespace: v.nullish(v.string()) }),
});

/**
 * The cache key (`namespace/name`) of a raw object, without projecting it:
 * a deletion must be applied even when the object no longer projects.
 */
export function objectKey(resource: Resource, object: unknown): string {
  const { metadata } = parse(KeySchema, object);
  return resource === "clusters"
    ? metadata.name
    : `${metadata.namespace || "default"}/${metadata.name}`;
}

/** The cache key of a projection. */
export function projectionKey<R extends Resource>(
  resource: R,
  projection: Projections[R],
): string {
  return resource === "clusters"
    ? (projection as ClusterProjection).objectName
    : `${(projection as { namespace: string }).namespace}/${
      (projection as { name: string }).name
    }`;
}
