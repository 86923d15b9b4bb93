/**
 * What a client sends, as valibot schemas: the envelope, each message
 * type's payload (filters, resume position, queries) and the validated
 * forms the server's parser returns. Apart from `messages.ts` (what the
 * server sends), so a client (the page) carries none of it.
 *
 * @module
 */
import * as v from "valibot";
import { EpochSchema, OffsetSchema } from "./messages.ts";
import type { Position } from "./shapes.ts";
import { TOPICS } from "./topics.ts";

/** Message types a client may send. */
export const CLIENT_MESSAGE_TYPES = [
  "subscribe",
  "unsubscribe",
  "request",
] as const;

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

/** A stream position: the epoch of a server process and an offset in it. */
export const PositionSchema = v.object({
  epoch: EpochSchema,
  offset: OffsetSchema,
});

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
 * The payload schemas of `subscribe` and `request`, by topic: what the
 * server's parser checks and what the contract documents. Built on first
 * use, as only those two read them.
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
