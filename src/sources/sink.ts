/**
 * Where a source's events go. The hub satisfies {@link EventSink} as it
 * is, so sources depend on this small interface and not on the hub.
 */
import type { EventPayload, Topic } from "../protocol/mod.ts";

/** What identifies the object an event is about, for subscription filters. */
export interface EventKeys {
  /** Namespace; omitted for cluster-scoped objects. */
  namespace?: string;
  /** Object name. */
  name: string;
  /** A second name a name filter also matches (an Event's involved object). */
  alias?: string;
}

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
