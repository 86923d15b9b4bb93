/**
 * The message envelope and every message shape, both directions, as valibot
 * schemas. The seed's shapes are kept as they are; everything added is
 * optional, so a client written against the seed keeps working.
 *
 * @module
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

/** A topic name, validated. */
export const TopicSchema = v.picklist(TOPICS);

/** A place in a topic's stream: a whole number, zero or more. */
export const OffsetSchema = v.pipe(
  v.number(),
  v.safeInteger("An offset is a whole number."),
  v.minValue(0, "An offset is zero or more."),
);

/** A server process's epoch, as `since` carries it back. */
export const EpochSchema = v.pipe(v.string(), v.maxLength(64));

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

/** The payload of an `error` message. */
export const ErrorPayloadSchema = v.object({
  code: v.picklist(ERROR_CODES),
  message: v.string(),
});

/** Server -> client `error`. */
export const ErrorMessageSchema = v.object({
  type: v.literal("error"),
  topic: v.optional(v.string()),
  requestId: v.optional(v.string()),
  payload: ErrorPayloadSchema,
  timestamp: TimestampSchema,
});

/** Anything the server sends. */
export const ServerMessageSchema = v.variant("type", [
  EventMessageSchema,
  ResponseMessageSchema,
  ErrorMessageSchema,
]);

/** Payload of the `response` to `subscribe`. */
export const SubscribedPayloadSchema = v.object({
  status: v.literal("subscribed"),
  topic: TopicSchema,
  epoch: EpochSchema,
  offset: OffsetSchema,
  recovered: v.optional(v.boolean()),
  replayed: v.optional(OffsetSchema),
});

/** The current time as RFC 3339 in UTC, the form every server message uses. */
export function timestamp(date: Date = new Date()): string {
  return date.toISOString();
}
