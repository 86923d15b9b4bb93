/**
 * Where a source's events go. The hub satisfies {@link EventSink} as it
 * is, so sources depend on this small interface and not on the hub.
 *
 * @module
 */
import type { EventKeys, EventPayload, Topic } from "../protocol/mod.ts";

/** One event to publish, as a derivation returns it. */
export interface Publication {
  /** The topic it goes to. */
  topic: Topic;
  /** The event payload, exactly as clients receive it. */
  payload: EventPayload;
  /** The object it is about. */
  keys: EventKeys;
}

/** Receives the events derived from the store's changes, in order. */
export interface EventSink {
  /** Publishes one event on `topic`. */
  publish(topic: Topic, payload: EventPayload, keys: EventKeys): void;
}
