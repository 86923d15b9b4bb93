/**
 * The message envelope and every message shape, both directions, as valibot
 * schemas. The seed's shapes are kept as they are; everything added is
 * optional, so a client written against the seed keeps working.
 */
import * as v from "valibot";
import { TOPICS } from "./topics.ts";

/** Every error code an `error` message can carry. */
export const ERROR_CODES = [
  "invalid_json",
  "invalid_message",
  "unknown_message_type",
  "unknown_topic",
  "not_found",
  "not_ready",
  "forbidden",
  "rate_limited",
  "internal",
] as const;

/** One of {@link ERROR_CODES}. */
export type ErrorCode = typeof ERROR_CODES[number];

/** Message types a client may send. */
export const CLIENT_MESSAGE_TYPES = [
  "subscribe",
  "unsubscribe",
  "request",
] as const;

/** A topic name, validated. */
export const TopicSchema = v.picklist(TOPICS);

/**
 * A Kubernetes namespace: a DNS-1123 label. Validated so that a typo such as
 * `Production` is an error instead of a filter that silently matches nothing.
 */
export const NamespaceSchema = v.pipe(
  v.string(),
  v.maxLength(63, "A namespace is at most 63 characters."),
  v.regex(
    /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/,
    "A namespace is lower-case letters, digits and '-', starting and ending with a letter or digit.",
  ),
);

/** An object name (or a ClusterPersona's `spec.name`). */
export const NameSchema = v.pipe(
  v.string(),
  v.minLength(1, "A name must not be empty."),
  v.maxLength(253, "A name is at most 253 characters."),
);

/** A place in a topic's stream: a whole number, zero or more. */
export const OffsetSchema = v.pipe(
  v.number(),
  v.safeInteger("An offset is a whole number."),
  v.minValue(0, "An offset is zero or more."),
);

/** A server process's epoch, as `since` carries it back. */
export const EpochSchema = v.pipe(v.string(), v.maxLength(64));

/** A stream position: the epoch of a server process and an offset in it. */
export const PositionSchema = v.object({
  epoch: EpochSchema,
  offset: OffsetSchema,
});
/** A stream position: the epoch of a server process and an offset in it. */
export type Position = v.InferOutput<typeof PositionSchema>;

/** Payload of `subscribe`: optional filters and a position to resume from. */
export const SubscribePayloadSchema = v.object({
  namespace: v.optional(NamespaceSchema),
  name: v.optional(NameSchema),
  since: v.optional(PositionSchema),
});

/** Payload of `request personas` and `request deployments`. */
export const NamespacedQuerySchema = v.object({
  namespace: v.optional(NamespaceSchema),
  name: v.optional(NameSchema),
});

/** Payload of `request cluster`. */
export const ClusterQuerySchema = v.object({
  name: v.optional(NameSchema),
});

/** The most events one `request events` returns. */
export const MAX_EVENTS_LIMIT = 10_000;

/** Events `request events` returns without a `limit`. */
export const DEFAULT_EVENTS_LIMIT = 100;

/** Payload of `request events`. */
export const EventsQuerySchema = v.object({
  namespace: v.optional(NamespaceSchema),
  limit: v.optional(
    v.pipe(
      v.number(),
      v.safeInteger("limit is a whole number."),
      v.minValue(1, "limit is at least 1."),
      v.maxValue(MAX_EVENTS_LIMIT, `limit is at most ${MAX_EVENTS_LIMIT}.`),
    ),
  ),
});

function clientPayloads() {
  return {
    subscribe: {
      personas: SubscribePayloadSchema,
      // Cluster-scoped: a namespace filter is refused rather than ignored.
      cluster: v.object({
        namespace: v.optional(
          v.never(
            "the cluster topic is cluster-scoped; filter it by name only",
          ),
        ),
        name: v.optional(NameSchema),
        since: v.optional(PositionSchema),
      }),
      deployments: SubscribePayloadSchema,
      events: SubscribePayloadSchema,
    },
    request: {
      personas: NamespacedQuerySchema,
      cluster: ClusterQuerySchema,
      deployments: NamespacedQuerySchema,
      events: EventsQuerySchema,
    },
  } as const;
}

let clientPayloadsBuilt: ReturnType<typeof clientPayloads> | undefined;

/**
 * The payload schemas of `subscribe` and `request`, by topic. Built on
 * first use: the dashboard's bundle keeps every schema built at load, and
 * the page never reads a client's message.
 */
export function clientPayloadSchemas(): ReturnType<typeof clientPayloads> {
  return clientPayloadsBuilt ??= clientPayloads();
}

/** What a client sends, before its payload is checked against its type. */
export const ClientEnvelopeSchema = v.object({
  type: v.string("type must be a string."),
  topic: v.optional(v.string("topic must be a string.")),
  requestId: v.optional(
    v.pipe(
      v.string("requestId must be a string."),
      v.maxLength(256, "requestId is at most 256 characters."),
    ),
  ),
  payload: v.optional(v.unknown()),
  timestamp: v.optional(v.unknown()),
});

/** Filters a subscription applies to a topic's events. */
export interface Filter {
  /** Only events in this namespace. */
  namespace?: string;
  /** Only events about an object of this name. */
  name?: string;
}

/** A query, by topic, as `request` carries it. */
export type Query =
  | { topic: "personas" | "deployments"; namespace?: string; name?: string }
  | { topic: "cluster"; name?: string }
  | { topic: "events"; namespace?: string; limit?: number };

/** A client message that passed validation. */
export type ClientMessage =
  | {
    type: "subscribe";
    topic: typeof TOPICS[number];
    requestId?: string;
    filter: Filter;
    since?: Position;
  }
  | {
    type: "unsubscribe";
    topic: typeof TOPICS[number];
    requestId?: string;
  }
  | {
    type: "request";
    topic: typeof TOPICS[number];
    requestId?: string;
    query: Query;
  };

/** RFC 3339 timestamp, as Go's `time.Time` parses it. */
export const TimestampSchema = v.pipe(
  v.string(),
  v.isoTimestamp("timestamp must be RFC 3339."),
);

/** Server -> client `event`. */
export const EventMessageSchema = v.object({
  type: v.literal("event"),
  topic: TopicSchema,
  payload: v.unknown(),
  timestamp: TimestampSchema,
  offset: OffsetSchema,
});
/** Server -> client `event`. */
export type EventMessage = v.InferOutput<typeof EventMessageSchema>;

/** Server -> client `response`. */
export const ResponseMessageSchema = v.object({
  type: v.literal("response"),
  topic: TopicSchema,
  requestId: v.optional(v.string()),
  payload: v.unknown(),
  timestamp: TimestampSchema,
  epoch: EpochSchema,
  offset: OffsetSchema,
});
/** Server -> client `response`. */
export type ResponseMessage = v.InferOutput<typeof ResponseMessageSchema>;

/** The payload of an `error` message. */
export const ErrorPayloadSchema = v.object({
  code: v.picklist(ERROR_CODES),
  message: v.string(),
});
/** The payload of an `error` message. */
export type ErrorPayload = v.InferOutput<typeof ErrorPayloadSchema>;

/** Server -> client `error`. */
export const ErrorMessageSchema = v.object({
  type: v.literal("error"),
  topic: v.optional(v.string()),
  requestId: v.optional(v.string()),
  payload: ErrorPayloadSchema,
  timestamp: TimestampSchema,
});
/** Server -> client `error`. */
export type ErrorMessage = v.InferOutput<typeof ErrorMessageSchema>;

/** Anything the server sends. */
export const ServerMessageSchema = v.variant("type", [
  EventMessageSchema,
  ResponseMessageSchema,
  ErrorMessageSchema,
]);
/** Anything the server sends. */
export type ServerMessage = v.InferOutput<typeof ServerMessageSchema>;

/** Payload of the `response` to `subscribe`. */
export const SubscribedPayloadSchema = v.object({
  status: v.literal("subscribed"),
  topic: TopicSchema,
  epoch: EpochSchema,
  offset: OffsetSchema,
  recovered: v.optional(v.boolean()),
  replayed: v.optional(OffsetSchema),
});
/** Payload of the `response` to `subscribe`. */
export type SubscribedPayload = v.InferOutput<typeof SubscribedPayloadSchema>;

/** The current time as RFC 3339 in UTC, the form every server message uses. */
export function timestamp(date: Date = new Date()): string {
  return date.toISOString();
}
