/**
 * A lighter way to receive events, for load generators: a benchmark's
 * clients count hundreds of thousands of events a second on the same
 * cores as the server they measure, and checking each one against the
 * protocol's schemas (about 2 us) would be what they measure. Through
 * {@link eventsAsText}, each `event` frame is handed on as the text it
 * came in, unparsed and unchecked; replies and errors still reach the
 * connection and are checked as always. {@link readEvent} reads
 * and checks one, for the sample that is looked at.
 *
 * Nothing else should use it: a client that acts on events wants them
 * checked (`Connection.onEvent`).
 *
 * @module
 */
import { readServerMessage } from "../protocol/receive.ts";
import type { Dialer } from "./channel.ts";
import { ProtocolError } from "./errors.ts";
import type { TopicEvent } from "./topics.ts";

// dorgu-ws writes `type` first in every message, as the seed's examples
// do; an event written otherwise is not diverted, and reaches the
// connection's `onEvent` checked.
const EVENT = '{"type":"event"';

/**
 * A dialer like `dial` whose channels hand each event frame to `onEvent`
 * as text, before and instead of the connection.
 */
export function eventsAsText(
  dial: Dialer,
  onEvent: (text: string) => void,
): Dialer {
  return async (signal) => {
    const channel = await dial(signal);
    return {
      send: (text) => channel.send(text),
      close: (code, reason) => channel.close(code, reason),
      listen: (listener) =>
        channel.listen({
          message: (text) =>
            text.startsWith(EVENT) ? onEvent(text) : listener.message(text),
          close: (code, reason) => listener.close(code, reason),
        }),
    };
  };
}

/**
 * Reads and checks one event frame, as a connection does; throws a
 * {@link ProtocolError} when it is not one.
 */
export function readEvent(text: string): TopicEvent {
  const read = readServerMessage(text);
  if (!read.ok) throw new ProtocolError(read.reason);
  if (read.message.type !== "event") {
    throw new ProtocolError(`a ${read.message.type}, not an event`);
  }
  return read.message as TopicEvent;
}
