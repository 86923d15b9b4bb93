/**
 * The channel a client talks over: an already-open, WebSocket-like pipe of
 * text messages with a close code and reason. The default dialer wraps a
 * WebSocket (Deno's, a browser's, Node's, or the `ws` package's); laptop
 * mode and the tests plug in their own, such as {@link channelPair}.
 *
 * @module
 */

/** What a {@link Channel} delivers to the client that listens to it. */
export interface ChannelListener {
  /** One text message, exactly as received. */
  message(text: string): void;
  /** The channel closed (1006 when it dropped without a close frame). */
  close(code: number, reason: string): void;
}

/**
 * An open channel to a dorgu-ws server. Messages and the close that arrive
 * before {@link Channel.listen} is called are held and delivered to the
 * listener, in order, once it is set; after the close, nothing more.
 */
export interface Channel {
  /** Sends one text message; throws when the channel is closed. */
  send(text: string): void;
  /** Closes the channel with a WebSocket close code and a reason. */
  close(code: number, reason: string): void;
  /** Sets the one listener of this channel. */
  listen(listener: ChannelListener): void;
}

/**
 * Opens a channel, or rejects with why not. The signal aborts when the
 * client gives up waiting (its timeout) or is closed; a dialer should then
 * stop and release what it opened.
 */
export type Dialer = (signal: AbortSignal) => Promise<Channel>;

/**
 * Holds what arrives before a listener is set: the base of the channels
 * this library builds, and a helper for other dialers.
 */
export class ChannelInbox {
  #listener: ChannelListener | undefined;
  #held: string[] = [];
  #closed: [code: number, reason: string] | undefined;

  /** Delivers a received text message (held until a listener is set). */
  message(text: string): void {
    if (this.#closed) return;
    if (this.#listener) this.#listener.message(text);
    else this.#held.push(text);
  }

  /** Delivers the close, once. */
  close(code: number, reason: string): void {
    if (this.#closed) return;
    this.#closed = [code, reason];
    this.#listener?.close(code, reason);
  }

  /** Whether the close has arrived. */
  get isClosed(): boolean {
    return this.#closed !== undefined;
  }

  /** Sets the listener and delivers what was held. */
  listen(listener: ChannelListener): void {
    if (this.#listener) throw new Error("A channel has one listener.");
    this.#listener = listener;
    for (const text of this.#held.splice(0)) listener.message(text);
    if (this.#closed) listener.close(...this.#closed);
  }
}

/**
 * Two channels joined in memory: what one sends the other receives (on a
 * later turn, as over a network), and a close reaches both ends. For an
 * in-process server, and for tests that drive a client message by message.
 */
export function channelPair(): [Channel, Channel] {
  const inboxes = [new ChannelInbox(), new ChannelInbox()];
  const end = (self: ChannelInbox, peer: ChannelInbox): Channel => ({
    send(text) {
      if (self.isClosed) throw new Error("The channel is closed.");
      queueMicrotask(() => peer.message(text));
    },
    close(code, reason) {
      queueMicrotask(() => {
        self.close(code, reason);
        peer.close(code, reason);
      });
    },
    listen: (listener) => self.listen(listener),
  });
  return [end(inboxes[0], inboxes[1]), end(inboxes[1], inboxes[0])];
}
