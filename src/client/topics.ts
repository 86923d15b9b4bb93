/**
 * The protocol's topics as types: for each, what a `request` asks and
 * answers, and what its events carry. The schemas that check them are the
 * contract's (`EVENT_PAYLOADS`, `LISTING_PAYLOADS` in protocol/payloads.ts).
 *
 * @module
 */
import type {
  ClusterEvent,
  ClusterInfo,
  DeploymentEvent,
  DeploymentSummary,
  EventMessage,
  EventsTopicPayload,
  PersonaEvent,
  PersonaSummary,
  ResponseMessage,
  Topic,
} from "../protocol/shapes.ts";

/** Per topic: the `request` payload, its answer, and the event payload. */
export interface TopicTypes {
  /** ApplicationPersonas. */
  personas: {
    query: { namespace?: string; name?: string };
    listing: { personas: PersonaSummary[] };
    item: PersonaSummary;
    event: PersonaEvent;
  };
  /** The ClusterPersona. */
  cluster: {
    query: { name?: string };
    listing: ClusterInfo;
    item: ClusterInfo;
    event: ClusterEvent;
  };
  /** Deployments. */
  deployments: {
    query: { namespace?: string; name?: string };
    listing: { deployments: DeploymentSummary[] };
    item: DeploymentSummary;
    event: DeploymentEvent;
  };
  /** Validation results and Kubernetes Events. */
  events: {
    query: { namespace?: string; limit?: number };
    listing: { events: EventsTopicPayload[] };
    item: EventsTopicPayload;
    event: EventsTopicPayload;
  };
}

/** The payload of `request` on topic `T`. */
export type QueryOf<T extends Topic> = TopicTypes[T]["query"];
/** The answer to `request` on topic `T`. */
export type ListingOf<T extends Topic> = TopicTypes[T]["listing"];
/** One object of topic `T`'s answer. */
export type ItemOf<T extends Topic> = TopicTypes[T]["item"];
/** The payload of an event on topic `T`. */
export type EventOf<T extends Topic> = TopicTypes[T]["event"];

/** An `event` message on topic `T`, its payload typed. */
export interface TopicEvent<T extends Topic = Topic> extends EventMessage {
  /** The topic. */
  topic: T;
  /** The event's payload, checked against the topic's schema. */
  payload: EventOf<T>;
}

/** A `response` to `request` on topic `T`, its payload typed. */
export interface TopicResponse<T extends Topic = Topic>
  extends ResponseMessage {
  /** The topic. */
  topic: T;
  /** The answer, checked against the topic's schema. */
  payload: ListingOf<T>;
}

/** The objects of an answer: the array it holds (the cluster: itself). */
export function itemsOf<T extends Topic>(
  topic: T,
  listing: ListingOf<T>,
): ItemOf<T>[] {
  if (topic === "cluster") return [listing as ItemOf<T>];
  return (listing as Record<string, ItemOf<T>[]>)[topic];
}
