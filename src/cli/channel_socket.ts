/**
 * A dialed channel (an open, WebSocket-like connection handed over by a
 * dialer, such as laptop mode's in-process server) seen as the socket a
 * {@link Connection} reads and writes, so the connection's protocol code
 * is the same whichever way the bytes travel.
 *
 * @module
 */

/** What a dialer returns: an open channel of JSON text messages. */
export interface DialedChannel {
  /** Sends one text message. */
  send(text: string): void;
  /** Closes the channel. */
  close(code?: number, reason?: string): void;
  /** Set by the connection: every message received. */
  onmessage: ((text: string) => void) | null;
  /** Set by the connection: the close, once. */
  onclose: ((code: number, reason: string) => void) | null;
}

/** Opens a channel; the alternative to a WebSocket URL. */
export type Dialer = () => Promise<DialedChannel>;

type Listener<T> = (event: T) => void;

/** The channel with the socket interface a connection uses. */
export function channelSocket(channel: DialedChannel): {
  onopen: null;
  onerror: null;
  addEventListener(
    type: "close" | "message",
    listener:
      | Listener<{ code: number; reason: string }>
      | Listener<{ data: unknown }>,
  ): void;
  send(data: string): void;
  close(code?: number): void;
} {
  const closes: Listener<{ code: number; reason: string }>[] = [];
  const messages: Listener<{ data: unknown }>[] = [];
  channel.onmessage = (text) => {
    for (const listener of messages) listener({ data: text });
  };
  channel.onclose = (code, reason) => {
    for (const listener of closes) listener({ code, reason });
  };
  return {
    onopen: null,
    onerror: null,
    addEventListener(type, listener) {
      if (type === "close") {
        closes.push(listener as Listener<{ code: number; reason: string }>);
      } else messages.push(listener as Listener<{ data: unknown }>);
    },
    send: (data) => channel.send(data),
    close: (code) => channel.close(code),
  };
}
