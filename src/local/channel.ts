/**
 * The in-memory connection between the client and the in-process server:
 * the client's end is a WebSocket-like channel (send a text message, close
 * with a code and reason, hear messages and the close), the server's end a
 * {@link ClientSocket} that a hub session writes encoded frames to. Both
 * directions hand messages on in a later microtask, in order, so neither
 * side runs inside the other's call, as over a real socket.
 *
 * @module
 */
import type { ClientSocket } from "../hub/mod.ts";
import type { Offer } from "../transport/send_queue.ts";

/**
 * What a dialer hands the protocol client: an open, WebSocket-like
 * channel. Messages are JSON text, exactly as over a WebSocket.
 */
export interface Channel {
  /** Sends one text message; throws once the channel is closed. */
  send(text: string): void;
  /** Closes the channel (1000 by default); the other side hears the close. */
  close(code?: number, reason?: string): void;
  /** Called with every message the server sends. */
  onmessage: ((text: string) => void) | null;
  /** Called once, when the channel has closed. */
  onclose: ((code: number, reason: string) => void) | null;
}

/** The server's side of a channel. */
export interface ChannelEnds {
  /** The client's end. */
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
 * `closed` once, whichever side closes it.
 */
export function openChannel(
  receive: (text: string) => void,
  closed: () => void,
): ChannelEnds {
  let open = true;
  // One queue for both directions' deliveries keeps replies, events and
  // the close in the order they happened.
  const pending: (() => void)[] = [];
  const later = (task: () => void) => {
    pending.push(task);
    if (pending.length === 1) queueMicrotask(flush);
  };
  const flush = () => {
    // Tasks queued while flushing run in this same pass.
    for (let i = 0; i < pending.length; i++) {
      try {
        pending[i]();
      } catch (error) {
        // Thrown where a socket's listener would throw, without losing the
        // messages behind it.
        queueMicrotask(() => {
          throw error;
        });
      }
    }
    pending.length = 0;
  };
  const end = (code: number, reason: string) => {
    if (!open) return;
    open = false;
    closed();
    later(() => channel.onclose?.(code, reason));
  };
  const channel: Channel = {
    send(text) {
      if (!open) throw new Error("The in-process connection is closed.");
      // A message still queued when the channel closes is not handled: its
      // session has left the hub.
      later(() => open && receive(text));
    },
    close(code = 1000, reason = "") {
      end(code, reason);
    },
    onmessage: null,
    onclose: null,
  };
  const socket: ClientSocket = {
    send(frame): Offer | "closed" {
      if (!open) return "closed";
      const text = frameText(frame);
      later(() => channel.onmessage?.(text));
      return "queued";
    },
  };
  return { channel, socket, close: end };
}
