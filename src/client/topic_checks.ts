/**
 * Holds the library's types for each topic (`topics.ts`) equal to the
 * contract's schemas for it: the queries to `clientPayloadSchemas()`, the
 * listings to `LISTING_PAYLOADS`, the events to `EVENT_PAYLOADS`. If one
 * changes and the other does not, `deno task check` fails here. Types
 * only; nothing here runs or reaches the page's bundle.
 *
 * @module
 */
import type { clientPayloadSchemas } from "../protocol/client_messages.ts";
import type { EVENT_PAYLOADS, LISTING_PAYLOADS } from "../protocol/payloads.ts";
import type { Out, Same } from "../protocol/shape_checks.ts";
import type { Topic } from "../protocol/shapes.ts";
import type { EventOf, ListingOf, QueryOf } from "./topics.ts";

type Queries = ReturnType<typeof clientPayloadSchemas>["request"];

type TopicHolds<T extends Topic> = [
  Same<QueryOf<T>, Out<Queries[T]>>,
  Same<ListingOf<T>, Out<typeof LISTING_PAYLOADS[T]>>,
  Same<EventOf<T>, Out<typeof EVENT_PAYLOADS[T]>>,
];

type AllTrue<T extends true[]> = T;
/** Fails to compile unless every topic's types are its schemas'. */
export type TopicsHold = [
  AllTrue<TopicHolds<"personas">>,
  AllTrue<TopicHolds<"cluster">>,
  AllTrue<TopicHolds<"deployments">>,
  AllTrue<TopicHolds<"events">>,
];
