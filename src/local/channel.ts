/**
 * The in-memory connection between the client library and the in-process
 * server: a pair of the library's channels ({@link channelPair}), one end
 * handed to the client's dialer, the other seen as the {@link ClientSocket}
 * a hub session writes encoded frames to. Both directions hand messages on
 * in a later microtask, in order, so neither side runs inside the other's
 * call, as over a real socket.
 *
 * @module
 */
import { type Channel, channelPair } from "../client/channel.ts";
import type { ClientSocket } from "../hub/mod.ts";

/** The two ends of one in-process connection. */
export interface ChannelEnds {
  /** The client's end, as a dialer returns it. */
  channel: Channel;
  /** Where the client's session writes. */
  socket: ClientSocket;
  /** Closes the channel from the server's side. */
  close(code: number, reason: string): void;
}

const decoder = new TextDecoder();

/**
 * The payload of an unmasked text frame, as the hub encodes them (a
 * 2-, 4- or 10-byte header, then the UTF-8 text).
 */
export function frameText(frame: Uint8Array): string {
  const length = frame[1] & 0x7f;
  const header = length === 126 ? 4 : length === 127 ? 10 : 2;
  return decoder.decode(frame.subarray(header));
}

/**
 * Creates a channel whose client messages go to `receive` and which calls
 * `closed` once, whichever side closes it. A message still on its way when
 * the channel closes is not handled: its session has left the hub.
 */
export function openChannel(
  receive: (text: string) => void,
  closed: () => void,
): ChannelEnds {
  const [client, server] = channelPair();
  let open = true;
  server.listen({
    message: receive,
    close: () => {
      open = false;
      closed();
    },
  });
  return {
    channel: client,
    socket: {
      send(frame) {
        if (!open) return "closed";
        server.send(frameText(frame));
        return "queued";
      },
    },
    close: (code, reason) => server.close(code, reason),
  };
}
