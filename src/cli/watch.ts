/**
 * `dorgu-ws watch`: the current state (for `events`, the history) and then
 * every change, one timestamped line each, or one JSON message a line with
 * `-o json`, until Ctrl+C or until stdout's reader goes away.
 *
 * @module
 */
import {
  type EventMessage,
  type EventsTopicPayload,
  type ResponseMessage,
  type Topic,
  viewEvent,
} from "../protocol/mod.ts";
import { followerFor } from "./follow.ts";
import { detectStyle, eventLine } from "./format.ts";
import { wanted, wantedItems } from "./items.ts";
import type { ClientOptions } from "./options.ts";
import { writeLine } from "./output.ts";

/** Runs `watch` until `signal` aborts; resolves to the exit code. */
export async function runWatch(
  options: ClientOptions,
  signal: AbortSignal,
): Promise<number> {
  const style = detectStyle();
  const json = options.output === "json";
  const show = (message: EventMessage) =>
    writeLine(json ? JSON.stringify(message) : eventLine(style, message));
  await followerFor(options, {
    listed({ response }) {
      if (!response) return;
      const items = wantedItems(options, response.payload);
      if (json) {
        if (items.length > 0 || options.topic !== "cluster") {
          writeLine(JSON.stringify(narrowed(response, options.topic, items)));
        }
        return;
      }
      // Each line at its own time, in time order: Events when last seen,
      // the rest (state, validation results) as of the listing.
      const lines = items.map((item) =>
        listedEvent(response, options.topic, item)
      ).sort((a, b) =>
        a.timestamp < b.timestamp ? -1 : a.timestamp > b.timestamp ? 1 : 0
      );
      for (const line of lines) show(line);
    },
    event(message) {
      if (wanted(options, message.payload)) show(message);
    },
  }, signal).run();
  return 0;
}

// The response with only the wanted items, so `-o json` stays one server
// message a line.
function narrowed(
  response: ResponseMessage,
  topic: Topic,
  items: unknown[],
): ResponseMessage {
  return {
    ...response,
    payload: topic === "cluster" ? items[0] : { [topic]: items },
  };
}

/**
 * A listed object as a line of its topic: `listed` for state, and for
 * events their own time when they have one (a validation result's is the
 * listing's).
 */
function listedEvent(
  response: ResponseMessage,
  topic: Topic,
  item: unknown,
): EventMessage {
  const lastSeen = topic === "events"
    ? viewEvent(item as EventsTopicPayload).lastSeen
    : undefined;
  return {
    type: "event",
    topic,
    payload: topic === "events"
      ? item
      : { eventType: "listed", ...(item as Record<string, unknown>) },
    timestamp: lastSeen ?? response.timestamp,
    offset: response.offset,
  };
}
