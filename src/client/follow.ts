/**
 * Following topics across connections, the list-then-watch way: list each
 * topic (unless only changes are wanted), subscribe from the listing's
 * position, and after a lost connection reconnect with the shared backoff
 * and resume with `since`. When the server cannot replay what was missed
 * (it restarted, or the events left its history), or an unfiltered
 * stream's offset jumps (this client fell behind), the topic is listed
 * again and the handler is told why. An event at or before the position
 * already handed on is skipped: nothing is handed on twice.
 *
 * One follower's life is one state machine: `connecting`, `live`,
 * `reconnecting`, then `stopped` or `failed`.
 *
 * @module
 */
import type { Position, Topic } from "../protocol/shapes.ts";
import { Backoff, type BackoffOptions, delay } from "../retry.ts";
import type { Dialer } from "./channel.ts";
import { Connection, type OpenOptions } from "./connection.ts";
import { ConnectionError, DorguError, ServerError } from "./errors.ts";
import type { QueryOf, TopicEvent, TopicResponse } from "./topics.ts";
import type {
  FollowHandlers,
  FollowState,
  FollowTopic,
  ListCause,
  Listed,
  TopicRecovery,
} from "./follow_types.ts";

export type * from "./follow_types.ts";

/** Options for {@link Follower}: a connection's, and how to follow. */
export interface FollowOptions extends OpenOptions {
  /** Opens a channel to the server. */
  dial: Dialer;
  /** The topics. */
  topics: FollowTopic[];
  /**
   * Called before each attempt to connect, without a deadline (to ask a
   * user for a token, say); a {@link DorguError} it throws with `retry`
   * is waited out like a failed connection.
   */
  prepare?: () => Promise<void>;
  /** Keep trying when the very first connection fails; default false. */
  retryFirstConnect?: boolean;
  /** The backoff between attempts; default 0.5 s doubling to 10 s. */
  backoff?: BackoffOptions;
  /** Stops the follower when it aborts. */
  signal?: AbortSignal;
}

interface TopicState {
  follow: FollowTopic;
  position?: Position;
  /** Events held while a listing or subscription is in flight. */
  held?: TopicEvent[];
}

/** Topics followed across reconnects; see the module doc. */
export class Follower {
  readonly #options: FollowOptions;
  readonly #handlers: FollowHandlers;
  readonly #backoff: Backoff;
  readonly #topics: Map<Topic, TopicState>;
  readonly #stopped = new AbortController();
  #connection: Connection | undefined;
  #live = false;
  #output: Promise<unknown> = Promise.resolve();
  #failure: { error: unknown } | undefined;

  /** Creates a follower; nothing happens until {@link Follower.run}. */
  constructor(options: FollowOptions, handlers: FollowHandlers) {
    this.#options = options;
    this.#handlers = handlers;
    this.#backoff = new Backoff(
      options.backoff ?? { initialMs: 500, maxMs: 10_000 },
    );
    this.#topics = new Map(
      options.topics.map((follow) => [follow.topic, { follow }]),
    );
  }

  /**
   * Follows until {@link Follower.stop} or the signal. Rejects when the
   * first connection fails (unless `retryFirstConnect`), when a failure
   * cannot pass by retrying (a refused token, an `error` reply other than
   * `not_ready` or `rate_limited`, a server breaking the protocol), or
   * when a handler throws.
   */
  async run(): Promise<void> {
    const { signal } = this.#options;
    const stop = () => this.stop();
    signal?.addEventListener("abort", stop, { once: true });
    if (signal?.aborted) stop();
    try {
      while (!this.#stopped.signal.aborted) await this.#round();
      await this.#handedOn();
      this.#setState({ state: "stopped" });
    } catch (error) {
      this.#setState({ state: "failed", error });
      throw error;
    } finally {
      signal?.removeEventListener("abort", stop);
      this.#connection?.close();
    }
  }

  /** Stops following: closes the connection; {@link Follower.run} returns. */
  stop(): void {
    this.#stopped.abort();
    this.#connection?.close();
  }

  /** The connection in use, while there is one. */
  get connection(): Connection | undefined {
    return this.#connection;
  }

  /**
   * Sends a `request` on the current connection; rejects with a
   * {@link ConnectionError} between connections.
   */
  request<T extends Topic>(
    topic: T,
    query?: QueryOf<T>,
  ): Promise<TopicResponse<T>> {
    return this.#connection?.request(topic, query) ??
      Promise.reject(
        new ConnectionError(
          "Not connected; try again once the connection is live.",
          { kind: "closed", retry: true },
        ),
      );
  }

  // One connection's life: connect, catch up, stay live until it ends,
  // then wait before the next.
  async #round(): Promise<void> {
    const stopped = this.#stopped.signal;
    this.#setState({ state: "connecting" });
    let connection: Connection | undefined;
    try {
      await this.#options.prepare?.();
      connection = this.#connection = await Connection.open(
        this.#options.dial,
        { ...this.#options, signal: stopped },
      );
      const opened = connection;
      opened.onEvent = (message) => this.#receive(message, opened);
      await this.#attach(connection);
    } catch (error) {
      connection?.close();
      await connection?.closed;
      this.#connection = undefined;
      await this.#handedOn();
      if (stopped.aborted) return;
      this.#giveUpUnless(error);
      return await this.#wait("failed", (error as Error).message, error);
    }
    this.#backoff.reset();
    this.#live = true;
    this.#setState({ state: "live" });
    const ended = await connection.closed;
    this.#connection = undefined;
    await this.#handedOn();
    if (stopped.aborted) return;
    if (!ended.retry) throw ended.error;
    await this.#wait("lost", ended.reason);
  }

  // Waits for the handlers to finish with what they were given; throws
  // what one of them threw.
  async #handedOn(): Promise<void> {
    await this.#output;
    if (this.#failure) throw this.#failure.error;
  }

  // Throws `error` unless waiting and trying again can help. A server
  // that answers "not yet" (`not_ready`, `rate_limited`) is there, and is
  // waited out even the first time; one not reached at all is not,
  // unless `retryFirstConnect`.
  #giveUpUnless(error: unknown): void {
    const retry = error instanceof DorguError && error.retry;
    const reached = error instanceof ServerError || this.#live ||
      this.#options.retryFirstConnect;
    if (!retry || !reached) throw error;
  }

  async #wait(
    after: "lost" | "failed",
    reason: string,
    error?: unknown,
  ): Promise<void> {
    const waitMs = this.#backoff.next();
    this.#setState({ state: "reconnecting", after, reason, waitMs, error });
    await delay(waitMs, this.#stopped.signal);
  }

  // Catches every topic up, then says how, after a reconnect.
  async #attach(connection: Connection): Promise<void> {
    const topics = [...this.#topics.values()];
    const resuming = topics.some((t) => t.position);
    const outcomes = await Promise.all(
      topics.map((t) => this.#attachTopic(connection, t)),
    );
    if (!resuming) return;
    this.#handlers.recovered?.({
      topics: outcomes,
      restarted: outcomes.some((o) => o.cause === "restart"),
    });
  }

  // Lists a topic the first time, subscribes from where it stands, and
  // lists it again when the server cannot replay what was missed.
  async #attachTopic(
    connection: Connection,
    state: TopicState,
  ): Promise<TopicRecovery> {
    const { topic, filter, changesOnly } = state.follow;
    const first = !state.position;
    if (first && !changesOnly) await this.#list(connection, state, "start");
    const since = state.position;
    state.held ??= [];
    const { payload } = await connection.subscribe(topic, { ...filter, since })
      .catch((error) => {
        state.held = undefined;
        throw error;
      });
    const { epoch, offset, recovered, replayed = 0 } = payload;
    if (!since || !recovered) state.position = { epoch, offset };
    if (!since || recovered) {
      this.#release(state, connection);
      return { topic, how: "resumed", replayed };
    }
    const cause = first
      ? "changed"
      : since.epoch !== epoch
      ? "restart"
      : "history";
    await this.#list(connection, state, cause);
    return { topic, how: "re-listed", replayed: 0, cause };
  }

  // Lists a topic and hands the listing on; events arriving meanwhile are
  // held, then handed on if the listing does not already cover them.
  async #list(
    connection: Connection,
    state: TopicState,
    cause: ListCause,
    missed?: number,
  ): Promise<void> {
    const { topic, filter, listing } = state.follow;
    state.held ??= [];
    const response = await connection.request(topic, { ...filter, ...listing })
      .catch((error) => {
        // No ClusterPersona yet: nothing to list; what comes is followed.
        if (error instanceof ServerError && error.code === "not_found") {
          return null;
        }
        state.held = undefined;
        throw error;
      });
    if (response) {
      state.position = { epoch: response.epoch, offset: response.offset };
    }
    const shown: Listed = { topic, response, cause, missed };
    this.#emit(() => this.#handlers.listed?.(shown));
    this.#release(state, connection);
  }

  #release(state: TopicState, connection: Connection): void {
    const held = state.held ?? [];
    state.held = undefined;
    for (const message of held) this.#receive(message, connection);
  }

  #receive(message: TopicEvent, connection: Connection): void {
    const state = this.#topics.get(message.topic);
    if (!state) return;
    if (state.held) {
      state.held.push(message);
      return;
    }
    const position = state.position;
    if (position && message.offset <= position.offset) return;
    // Offsets count every event on the topic, so only an unfiltered
    // stream can tell a jump from events filtered out.
    const { namespace, name } = state.follow.filter ?? {};
    const filtered = namespace !== undefined || name !== undefined;
    if (position && !filtered && message.offset > position.offset + 1) {
      const missed = message.offset - position.offset - 1;
      state.held = [message];
      this.#list(connection, state, "gap", missed).catch((error) =>
        error instanceof ServerError && !error.retry
          ? this.#fail(error)
          : connection.close()
      );
      return;
    }
    state.position = { epoch: position?.epoch ?? "", offset: message.offset };
    this.#emit(() => this.#handlers.event?.(message));
  }

  // Hands on in order, one handler at a time (they may be async). Two
  // promises per event, not an async step's three: this runs per event.
  #emit(handOn: () => unknown): void {
    this.#output = this.#output.then(() => this.#failure ? undefined : handOn())
      .catch((error) => this.#fail(error));
  }

  #fail(error: unknown): void {
    this.#failure ??= { error };
    this.#connection?.close();
  }

  #setState(state: FollowState): void {
    this.#handlers.state?.(state);
  }
}
