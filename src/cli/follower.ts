/**
 * Following a topic across connections: list (unless only changes are
 * wanted), subscribe from the listing's position, and after a lost
 * connection reconnect with backoff and resume from the last event seen.
 * When the server cannot replay what was missed (it restarted, or the
 * events left its history) or an offset jumps (this client fell behind),
 * the follower lists again and says so. Nothing is printed twice: an event
 * at or before the position already shown is skipped.
 *
 * @module
 */
import type {
  EventMessage,
  Position,
  ResponseMessage,
  SubscribedPayload,
  Topic,
} from "../protocol/mod.ts";
import { Backoff, delay } from "../retry.ts";
import type { ClientOptions } from "./options.ts";
import { listingExtras, serverFilter } from "./items.ts";
import { Connection, type ConnectOptions, ServerError } from "./connection.ts";
import { ClientError } from "./errors.ts";

/** What the follower hands on, in order. */
export interface FollowSink {
  /** The current state (for `events`, the history), as the server listed it. */
  listed(response: ResponseMessage): void | Promise<void>;
  /** One change after the listing. */
  event(message: EventMessage): void | Promise<void>;
}

/** Options for {@link Follower}. */
export interface FollowerOptions extends ConnectOptions {
  /** The server. */
  url: string;
  /** The topic. */
  topic: Topic;
  /** Filters the server applies (`namespace`); shared by request and subscribe. */
  filter: { namespace?: string };
  /** Extra fields for the listing request, e.g. `limit` for events. */
  listing?: Record<string, unknown>;
  /** Changes only: no listing first. */
  changesOnly: boolean;
  /** A line for the user about the connection. */
  notice: (text: string) => void;
  /** Ends the follow. */
  signal: AbortSignal;
}

/** A topic followed across reconnects; see the module doc. */
export class Follower {
  readonly #options: FollowerOptions;
  readonly #sink: FollowSink;
  readonly #backoff = new Backoff({ initialMs: 500, maxMs: 10_000 });
  #connection: Connection | undefined;
  /** The last event (or listing) shown. */
  #position: Position | undefined;
  /** Events held while a listing is in flight; undefined otherwise. */
  #held: EventMessage[] | undefined;
  /** Serializes the sink, which may wait (a row it must look up). */
  #output: Promise<void> = Promise.resolve();
  #failure: unknown;

  /** Creates a follower; nothing happens until {@link Follower.run}. */
  constructor(options: FollowerOptions, sink: FollowSink) {
    this.#options = options;
    this.#sink = sink;
  }

  /**
   * Follows until the signal aborts. Throws when the first connection
   * fails, the server answers with an error, or the sink fails.
   */
  async run(): Promise<void> {
    const { signal, url, notice } = this.#options;
    const abort = () => this.#connection?.close();
    signal.addEventListener("abort", abort);
    let lastFailure = "";
    try {
      while (!signal.aborted) {
        let connection: Connection;
        try {
          connection = await Connection.open(url, this.#options);
        } catch (error) {
          if (!this.#position) throw error;
          // Once per reason, not once per attempt, during a long outage.
          const message = (error as Error).message;
          if (message !== lastFailure) notice(`${message} Retrying...`);
          lastFailure = message;
          await delay(this.#backoff.next(), signal);
          continue;
        }
        lastFailure = "";
        this.#connection = connection;
        if (signal.aborted) break;
        const reason = await this.#follow(connection);
        await this.#output;
        if (this.#failure !== undefined) throw this.#failure;
        if (signal.aborted) break;
        const wait = this.#backoff.next();
        notice(
          `lost the connection to ${url} (${reason}); reconnecting in ${
            (wait / 1000).toFixed(1)
          } s.`,
        );
        await delay(wait, signal);
      }
    } finally {
      signal.removeEventListener("abort", abort);
      this.#connection?.close();
    }
    await this.#output;
    if (this.#failure !== undefined) throw this.#failure;
  }

  /** Sends a `request` on the current connection (for rows a sink must look up). */
  request(topic: Topic, payload: unknown): Promise<ResponseMessage> {
    if (!this.#connection) {
      return Promise.reject(new ClientError("Not connected."));
    }
    return this.#connection.call("request", topic, payload);
  }

  // Lists and subscribes on `connection`, then waits for it to close;
  // resolves with why it closed.
  async #follow(connection: Connection): Promise<string> {
    connection.onMisunderstood = (error) => this.#fail(error);
    connection.onEvent = (message) => this.#receive(message, connection);
    try {
      await this.#attach(connection);
      this.#backoff.reset();
    } catch (error) {
      // A refusal is final; a connection lost mid-way is retried.
      if (error instanceof ServerError || !this.#position) this.#fail(error);
      connection.close();
    }
    return await connection.closed;
  }

  async #attach(connection: Connection): Promise<void> {
    const { topic, url, filter, changesOnly, notice } = this.#options;
    const resuming = this.#position !== undefined;
    if (!resuming && !changesOnly) await this.#list(connection);
    const since = this.#position;
    const reply = await connection.call("subscribe", topic, {
      ...filter,
      ...(since ? { since } : {}),
    });
    const subscribed = reply.payload as SubscribedPayload;
    if (since && subscribed.recovered) {
      if (resuming) {
        notice(
          `reconnected to ${url}; replayed ${
            subscribed.replayed ?? 0
          } missed events.`,
        );
      }
      return;
    }
    this.#position = { epoch: subscribed.epoch, offset: subscribed.offset };
    if (!since) return;
    notice(
      resuming
        ? `reconnected to ${url}, which cannot replay what was missed (it restarted, or the events are gone); listing the current ${topic}.`
        : `the ${topic} changed faster than they could be listed; listing them again.`,
    );
    await this.#list(connection);
  }

  // Lists the topic and shows it; events arriving meanwhile are held and
  // then shown if the listing does not already cover them.
  async #list(connection: Connection): Promise<void> {
    const { topic, filter, listing } = this.#options;
    this.#held ??= [];
    let listed: ResponseMessage | undefined;
    try {
      listed = await connection.call("request", topic, {
        ...filter,
        ...listing,
      });
    } catch (error) {
      // No ClusterPersona yet: nothing to list, follow what comes.
      if (!(error instanceof ServerError && error.code === "not_found")) {
        this.#held = undefined;
        throw error;
      }
    }
    const held = this.#held;
    this.#held = undefined;
    if (listed) {
      this.#position = { epoch: listed.epoch, offset: listed.offset };
      const shown = listed;
      this.#emit(() => this.#sink.listed(shown));
    }
    for (const message of held) this.#receive(message, connection);
  }

  #receive(message: EventMessage, connection: Connection): void {
    if (this.#held) {
      this.#held.push(message);
      return;
    }
    const position = this.#position;
    if (position && message.offset <= position.offset) return;
    // Offsets count every event on the topic, so only an unfiltered
    // stream can tell a jump from events filtered out.
    if (
      position && this.#options.filter.namespace === undefined &&
      message.offset > position.offset + 1
    ) {
      const topic = this.#options.topic;
      this.#options.notice(
        `missed ${
          message.offset - position.offset - 1
        } ${topic} events (this client fell behind); listing the current ${topic}.`,
      );
      this.#held = [message];
      this.#list(connection).catch((error) =>
        error instanceof ServerError ? this.#fail(error) : connection.close()
      );
      return;
    }
    this.#position = { epoch: position?.epoch ?? "", offset: message.offset };
    this.#emit(() => this.#sink.event(message));
  }

  #emit(show: () => void | Promise<void>): void {
    this.#output = this.#output.then(async () => {
      if (this.#failure === undefined) await show();
    }).catch((error) => this.#fail(error));
  }

  #fail(error: unknown): void {
    this.#failure ??= error;
    this.#connection?.close();
  }
}

/** A follower for a `get -w` or `watch` command line, noticing on stderr. */
export function followerFor(
  options: ClientOptions,
  sink: FollowSink,
  signal: AbortSignal,
): Follower {
  return new Follower({
    url: options.target.url,
    token: options.target.token,
    tls: options.target.tls,
    dial: options.target.dial,
    timeoutMs: options.timeoutMs,
    topic: options.topic,
    filter: serverFilter(options),
    listing: listingExtras(options),
    changesOnly: options.follow === "only",
    notice: (text) => console.error(`dorgu-ws: ${text}`),
    signal,
  }, sink);
}
