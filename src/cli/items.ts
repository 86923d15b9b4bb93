/**
 * The objects in a `request` answer and in events, and which of them the
 * command line asked for: names, `-l`, and the events filters, with events
 * put oldest first and cut to `--limit`. `get` and `watch` share it.
 *
 * @module
 */
import {
  type EventsTopicPayload,
  MAX_EVENTS_LIMIT,
  type Topic,
  viewEvent,
} from "../protocol/mod.ts";
import { eventMatches, sortEvents } from "./events.ts";
import type { ClientOptions } from "./options.ts";
import { forTerminal } from "./output.ts";
import { RESOURCES } from "./resources.ts";
import { selects } from "./selector.ts";

/** The filters the server applies: the namespace, and a single name. */
export function serverFilter(
  options: ClientOptions,
): { namespace?: string; name?: string } {
  return {
    ...(options.namespace !== undefined
      ? { namespace: options.namespace }
      : {}),
    ...(options.names.length === 1 ? { name: options.names[0] } : {}),
  };
}

/** Extra fields of the listing request: every event the server holds. */
export function listingExtras(
  options: ClientOptions,
): Record<string, unknown> {
  return options.topic === "events" ? { limit: MAX_EVENTS_LIMIT } : {};
}

/** The objects a `request TOPIC` answer lists. */
export function itemsOf(topic: Topic, payload: unknown): unknown[] {
  if (topic === "cluster") return [payload];
  return (payload as Record<string, unknown[]>)[topic] ?? [];
}

/** Whether `item` (a listed object or an event payload) was asked for. */
export function wanted(
  options: ClientOptions,
  item: unknown,
): boolean {
  if (options.topic === "events") {
    return eventMatches(viewEvent(item as EventsTopicPayload), options.events);
  }
  const name = (item as { name: string }).name;
  // The cluster's name filter is the server's: it also matches metadata.name.
  if (
    options.topic !== "cluster" && options.names.length > 0 &&
    !options.names.includes(name)
  ) return false;
  return selects(options.topic, options.selector, item);
}

/**
 * The wanted objects of an answer; events oldest first, the newest
 * `--limit` of them.
 */
export function wantedItems(
  options: ClientOptions,
  payload: unknown,
): unknown[] {
  const items = itemsOf(options.topic, payload).filter((item) =>
    wanted(options, item)
  );
  if (options.topic !== "events") return items;
  const sorted = sortEvents(
    (items as EventsTopicPayload[]).map(viewEvent),
  ).map((view) => view.source);
  return options.limit === undefined ? sorted : sorted.slice(-options.limit);
}

/** `kind/name`, as `-o name` prints an object. */
export function qualifiedName(topic: Topic, item: unknown): string {
  const { name } = item as { name: string };
  if (topic !== "events") {
    return forTerminal(`${RESOURCES[topic].kind}/${name}`);
  }
  const kubernetes = (item as EventsTopicPayload).kind === "kubernetes";
  return forTerminal(
    `${kubernetes ? "event" : RESOURCES.personas.kind}/${name}`,
  );
}
