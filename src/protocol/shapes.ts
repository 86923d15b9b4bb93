/**
 * The protocol's shapes as plain, documented TypeScript types: what the
 * client library exports and what `deno doc` shows. The valibot schemas in
 * `messages.ts` and `payloads.ts` remain what checks messages;
 * `shape_checks.ts` holds each type here equal to its schema's output, so
 * the two cannot drift apart (`deno task check` fails).
 *
 * @module
 */

/** A topic a client can subscribe to or request from. */
export type Topic = "personas" | "cluster" | "deployments" | "events";

/** An error code an `error` message can carry. */
export type ErrorCode =
  | "invalid_json"
  | "invalid_message"
  | "unknown_message_type"
  | "unknown_topic"
  | "not_found"
  | "not_ready"
  | "forbidden"
  | "rate_limited"
  | "internal";

/** A stream position: the epoch of a server process and an offset in it. */
export interface Position {
  /** Random per server process start. */
  epoch: string;
  /** The topic's event count at that point. */
  offset: number;
}

/** One issue of a persona's validation, as the operator reports it. */
export interface ValidationIssue {
  /** `error`, `warning` or `info`. */
  severity: string;
  /** What is wrong. */
  message: string;
}

/** A persona's `status.validation`. */
export interface PersonaValidation {
  /** Whether it passed. */
  passed: boolean;
  /** The issues found. */
  issues: ValidationIssue[];
}

/** One ApplicationPersona as `request personas` lists it. */
export interface PersonaSummary {
  /** Namespace. */
  namespace: string;
  /** `metadata.name`. */
  name: string;
  /** `spec.name`. */
  appName: string;
  /** `spec.type`. */
  type: string;
  /** `spec.tier`. */
  tier: string;
  /** `status.phase`. */
  phase: string;
  /** `status.health.status`. */
  health: string;
  /** Extension: only in answers to a request naming one persona. */
  validation?: PersonaValidation;
}

/** The answer to `request cluster`. */
export interface ClusterInfo {
  /** `spec.name`. */
  name: string;
  /** `spec.environment`. */
  environment: string;
  /** `status.phase`. */
  phase: string;
  /** `status.kubernetesVersion`. */
  kubernetesVersion: string;
  /** `status.platform`. */
  platform: string;
  /** How many entries `status.nodes` has. */
  nodeCount: number;
  /** `status.applicationCount`. */
  applicationCount: number;
  /** Names of the installed addons; `[]` when none. */
  addons: string[];
  /** Extension: the names of the nodes `nodeCount` counts. */
  nodes?: string[];
}

/** A Deployment as `request deployments` lists it. */
export interface DeploymentSummary {
  /** Namespace. */
  namespace: string;
  /** Name. */
  name: string;
  /** `spec.replicas`. */
  replicas: number;
  /** `status.readyReplicas`. */
  readyReplicas: number;
  /** `status.updatedReplicas`. */
  updatedReplicas: number;
  /** `status.availableReplicas`. */
  availableReplicas: number;
  /** The containers' images. */
  images: string[];
  /** The rollout, from the conditions. */
  rollout: "progressing" | "complete" | "failed";
  /** The ApplicationPersona that claims this Deployment, if any. */
  persona?: string;
}

/** Created, updated or deleted: the change an event reports. */
export type ChangeType = "created" | "updated" | "deleted";

/** `personas` topic event. */
export interface PersonaEvent {
  /** The change. */
  eventType: ChangeType;
  /** Namespace. */
  namespace: string;
  /** Name. */
  name: string;
  /** `status.phase`. */
  phase: string;
  /** `status.health.status`. */
  health: string;
}

/** `cluster` topic event. */
export interface ClusterEvent {
  /** The change. */
  eventType: "updated" | "nodeAdded" | "nodeRemoved";
  /** `spec.name`. */
  name: string;
  /** `status.phase`. */
  phase: string;
  /** How many nodes. */
  nodeCount: number;
  /** `status.applicationCount`. */
  applicationCount: number;
  /** Extension: the node that was added or removed. */
  node?: string;
  /** Extension: set on the last event of a deleted ClusterPersona. */
  deleted?: boolean;
}

/** `events` topic event sent when a persona's `status.validation` changes. */
export interface ValidationEvent {
  /** Extension: tells the two kinds of `events` payloads apart. */
  kind: "validation";
  /** The persona's namespace. */
  namespace: string;
  /** The persona's name. */
  name: string;
  /** Whether it passed. */
  passed: boolean;
  /** How many issues. */
  issueCount: number;
  /** The highest severity; `none` without issues. */
  severity: "error" | "warning" | "info" | "none";
  /** The issues' messages. */
  issues: string[];
}

/** `events` topic event carrying a core/v1 Event. */
export interface KubernetesEvent {
  /** Tells the two kinds of `events` payloads apart. */
  kind: "kubernetes";
  /** Namespace. */
  namespace: string;
  /** The Event object's name. */
  name: string;
  /** `Normal` or `Warning`. */
  type: string;
  /** e.g. `BackOff`. */
  reason: string;
  /** What happened. */
  message: string;
  /** The object it is about. */
  involvedObject: { kind: string; namespace: string; name: string };
  /** How many times it happened. */
  count: number;
  /** When it was last seen, RFC 3339. */
  lastTimestamp: string;
}

/** Anything the `events` topic carries. */
export type EventsTopicPayload = ValidationEvent | KubernetesEvent;

/** `deployments` topic event. */
export interface DeploymentEvent extends DeploymentSummary {
  /** The change. */
  eventType: ChangeType;
}

/** The payload of an event, whichever topic carries it. */
export type EventPayload =
  | PersonaEvent
  | ClusterEvent
  | DeploymentEvent
  | EventsTopicPayload;

/** Server -> client `event`. */
export interface EventMessage {
  /** `event`. */
  type: "event";
  /** The topic. */
  topic: Topic;
  /** The topic's event payload. */
  payload: unknown;
  /** RFC 3339 UTC. */
  timestamp: string;
  /** Counts up by one per event on the topic. */
  offset: number;
}

/** Server -> client `response`. */
export interface ResponseMessage {
  /** `response`. */
  type: "response";
  /** The topic. */
  topic: Topic;
  /** The request's id, echoed. */
  requestId?: string;
  /** The answer. */
  payload: unknown;
  /** RFC 3339 UTC. */
  timestamp: string;
  /** The topic's stream position when the answer was read: its epoch. */
  epoch: string;
  /** ...and its offset. */
  offset: number;
}

/** The payload of an `error` message. */
export interface ErrorPayload {
  /** The error code. */
  code: ErrorCode;
  /** What was wrong and what to do. */
  message: string;
}

/** Server -> client `error`. */
export interface ErrorMessage {
  /** `error`. */
  type: "error";
  /** The topic of the message that caused it, echoed. */
  topic?: string;
  /** The requestId of the message that caused it, echoed. */
  requestId?: string;
  /** The code and message. */
  payload: ErrorPayload;
  /** RFC 3339 UTC. */
  timestamp: string;
}

/** Anything the server sends. */
export type ServerMessage = EventMessage | ResponseMessage | ErrorMessage;

/** Payload of the `response` to `subscribe`. */
export interface SubscribedPayload {
  /** `subscribed`. */
  status: "subscribed";
  /** The topic. */
  topic: Topic;
  /** The server process's epoch. */
  epoch: string;
  /** The topic's offset: events after it are delivered. */
  offset: number;
  /** With `since`: whether the missed events could be replayed. */
  recovered?: boolean;
  /** With `since`: how many were. */
  replayed?: number;
}

/** What identifies the object an event is about, for subscription filters. */
export interface EventKeys {
  /** Namespace; omitted (or "") for cluster-scoped objects. */
  namespace?: string;
  /** Object name. */
  name: string;
  /** A second name a name filter also matches (an Event's involved object). */
  alias?: string;
}
