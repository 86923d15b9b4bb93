/**
 * The client's front door: a server's URL and how to reach it (a token,
 * TLS options, or a dialer of one's own), then one-shot requests, a
 * {@link Connection} to keep, or topics followed across reconnects, as
 * handlers ({@link Client.follow}) or as an async iterator
 * ({@link Client.watch}).
 *
 * @module
 */
import { redactUrl } from "../redact.ts";
import type { Topic } from "../protocol/shapes.ts";
import type { BackoffOptions } from "../retry.ts";
import type { Dialer } from "./channel.ts";
import { Connection, type OpenOptions } from "./connection.ts";
import { ConnectionError, DorguError } from "./errors.ts";
import { explainConnectFailure } from "./failures.ts";
import { IDLE_MS, probeWhenQuiet } from "./liveness.ts";
import {
  Follower,
  type FollowHandlers,
  type FollowTopic,
  type ListCause,
} from "./follow.ts";
import type { TlsOptions } from "./tls.ts";
import {
  type EventOf,
  type ItemOf,
  itemsOf,
  type QueryOf,
  type TopicEvent,
  type TopicResponse,
} from "./topics.ts";
import { type TokenCarrier, webSocketDialer } from "./websocket.ts";

/** How a {@link Client} reaches its server. */
export interface ClientOptions {
  /** Bearer token, for servers run with `--auth token` or `kubernetes`. */
  token?: string;
  /** How the token is sent; default a header where the runtime can. */
  tokenAs?: TokenCarrier;
  /** For `wss://`: CAs to trust, or no check (Deno and Node only). */
  tls?: TlsOptions;
  /** Connect and reply deadline, ms; default 10 s. */
  timeoutMs?: number;
  /**
   * Opens the channel instead of a WebSocket to the URL (an in-process
   * server, a test); `token`, `tokenAs` and `tls` then do not apply.
   */
  dial?: Dialer;
  /** Called with every text message received, before it is parsed. */
  onFrame?: (text: string) => void;
  /** Backoff between reconnects; default 0.5 s doubling to 10 s. */
  backoff?: BackoffOptions;
  /**
   * After this long without a message, the WebSocket asks the server
   * something small and, with no answer within `timeoutMs`, is dropped
   * (1006) so a follow reconnects: a server gone silent (a laptop that
   * slept, a NAT that forgot the connection) is noticed. Default 30 s; 0
   * never asks. Not for `dial`.
   */
  idleMs?: number;
}

/** What {@link Client.follow} adds to the client's options. */
export interface FollowExtras {
  /** Keep trying when the very first connection fails; default false. */
  retryFirstConnect?: boolean;
  /** Stops following when it aborts. */
  signal?: AbortSignal;
  /** Called before each attempt to connect, without a deadline. */
  prepare?: () => Promise<void>;
}

/** One step of {@link Client.watch}: a listing, or one change. */
export type Update<T extends Topic> =
  | {
    /** The topic's current state. */
    kind: "listed";
    /** The topic. */
    topic: T;
    /** The objects listed (the cluster: one, or none). */
    items: ItemOf<T>[];
    /** Why it was listed. */
    cause: ListCause;
    /** The whole answer; null when there was nothing to list. */
    response: TopicResponse<T> | null;
  }
  | {
    /** One change. */
    kind: "event";
    /** The topic. */
    topic: T;
    /** What changed. */
    payload: EventOf<T>;
    /** The whole message (offset, timestamp). */
    message: TopicEvent<T>;
  };

/** Options for {@link Client.watch}. */
export interface WatchOptions
  extends Omit<FollowTopic, "topic">, FollowExtras {}

const SCHEMES = new Set(["ws:", "wss:", "http:", "https:"]);

/** A dorgu-ws server to talk to; see the module doc. */
export class Client {
  /** The server's WebSocket URL. */
  readonly url: string;
  readonly #options: ClientOptions;
  readonly #dial: Dialer;

  /**
   * A client of the server at `url` (`ws://host:9090/ws`, or `wss://`).
   * Throws a {@link ConnectionError} of kind `url` when `url` is not a
   * WebSocket URL and no dialer is given.
   */
  constructor(url: string, options: ClientOptions = {}) {
    this.url = url;
    this.#options = options;
    if (!options.dial) checkUrl(url);
    this.#dial = options.dial ?? defaultDialer(url, options);
  }

  /** Opens a connection to keep: for many requests, or subscriptions. */
  open(signal?: AbortSignal): Promise<Connection> {
    return Connection.open(this.#dial, { ...this.#connect(), signal });
  }

  /** One request on a connection of its own, closed after the answer. */
  async request<T extends Topic>(
    topic: T,
    query?: QueryOf<T>,
  ): Promise<TopicResponse<T>> {
    const connection = await this.open();
    try {
      return await connection.request(topic, query);
    } finally {
      connection.close();
    }
  }

  /**
   * Follows `topics` across reconnects, handing listings and events to
   * `handlers`; {@link Follower.run} starts it.
   */
  follow(
    topics: FollowTopic[],
    handlers: FollowHandlers,
    extras: FollowExtras = {},
  ): Follower {
    return new Follower({
      ...this.#connect(),
      dial: this.#dial,
      topics,
      backoff: this.#options.backoff,
      ...extras,
    }, handlers);
  }

  // What every connection of this client is opened with.
  #connect(): OpenOptions {
    const { timeoutMs, onFrame, token } = this.#options;
    return {
      // For messages: the dialer has the URL itself.
      url: redactUrl(this.url),
      timeoutMs,
      onFrame,
      explain: (url, detail, cause) =>
        explainConnectFailure(url, detail, {
          sentToken: token !== undefined,
          cause,
        }),
    };
  }

  /**
   * Follows one topic as an async iterator: its listing, then each change,
   * then a listing again whenever the client had to re-list (see
   * {@link ListCause}). Breaking out of the loop stops it; a failure that
   * retrying cannot fix is thrown from the loop.
   */
  watch<T extends Topic>(
    topic: T,
    options: WatchOptions = {},
  ): AsyncIterableIterator<Update<T>> {
    const { retryFirstConnect, signal, prepare, ...follow } = options;
    const queue = new UpdateQueue<Update<T>>(() => follower.stop());
    const follower = this.follow([{ topic, ...follow }], {
      listed: (listed) =>
        queue.push({
          kind: "listed",
          topic,
          cause: listed.cause,
          response: listed.response as TopicResponse<T> | null,
          items: listed.response
            ? itemsOf(topic, listed.response.payload as never)
            : [],
        }),
      event: (message) =>
        queue.push({
          kind: "event",
          topic,
          payload: message.payload as EventOf<T>,
          message: message as TopicEvent<T>,
        }),
    }, { retryFirstConnect, signal, prepare });
    const running = follower.run().then(
      () => queue.end(),
      (error) => queue.end(error),
    );
    return queue.iterator(async () => {
      follower.stop();
      await running;
    });
  }
}

function checkUrl(text: string): void {
  const url = redactUrl(text);
  let scheme: string | undefined;
  try {
    scheme = new URL(url).protocol;
  } catch (error) {
    throw new ConnectionError(
      `${url} is not a WebSocket URL (${
        (error as Error).message
      }); use ws://host:port/ws or wss://...`,
      { kind: "url", retry: false },
    );
  }
  if (!SCHEMES.has(scheme)) {
    throw new ConnectionError(
      `${url} is not a WebSocket URL (${scheme} is not ws: or wss:); use ws://host:port/ws or wss://...`,
      { kind: "url", retry: false },
    );
  }
}

function defaultDialer(url: string, options: ClientOptions): Dialer {
  const { tls, idleMs = IDLE_MS, timeoutMs = 10_000 } = options;
  const dial: Dialer = tls
    ? async (signal) => {
      // Loaded only when TLS options are given: runtime-specific.
      const { tlsDialer } = await import("./tls.ts");
      return await tlsDialer(url, { ...options, tls })(signal);
    }
    : webSocketDialer(url, options);
  return probeWhenQuiet(dial, { idleMs, timeoutMs });
}

/**
 * Updates {@link Client.watch} holds for a reader that has not taken them
 * yet. Past it the watch ends with an error: the socket is read whatever
 * the reader does, so a reader slower than the cluster would otherwise
 * make the client hold every change for ever.
 */
export const MAX_WAITING_UPDATES = 10_000;

// Updates waiting for the iterator's reader, then the end.
class UpdateQueue<T> {
  #items: T[] = [];
  #ended: { error?: unknown } | undefined;
  #wake: (() => void) | undefined;
  #overflow: () => void;

  constructor(overflow: () => void) {
    this.#overflow = overflow;
  }

  push(item: T): void {
    if (this.#ended) return;
    if (this.#items.length >= MAX_WAITING_UPDATES) {
      this.#items = [];
      this.end(
        new DorguError(
          `The watch's reader fell ${MAX_WAITING_UPDATES} updates behind, so the watch stopped; take updates as they come (or follow with handlers, Client.follow) and watch again.`,
          { retry: false },
        ),
      );
      return this.#overflow();
    }
    this.#items.push(item);
    this.#wake?.();
  }

  end(error?: unknown): void {
    this.#ended ??= error === undefined ? {} : { error };
    this.#wake?.();
  }

  iterator(stop: () => Promise<void>): AsyncIterableIterator<T> {
    const next = async (): Promise<IteratorResult<T>> => {
      while (true) {
        if (this.#items.length > 0) {
          return { value: this.#items.shift()!, done: false };
        }
        if (this.#ended) {
          if ("error" in this.#ended) throw this.#ended.error;
          return { value: undefined, done: true };
        }
        await new Promise<void>((resolve) => this.#wake = resolve);
        this.#wake = undefined;
      }
    };
    const iterator: AsyncIterableIterator<T> = {
      next,
      return: async () => {
        await stop();
        return { value: undefined, done: true };
      },
      [Symbol.asyncIterator]: () => iterator,
    };
    return iterator;
  }
}
