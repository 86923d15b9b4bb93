/**
 * The page follows the four topics on one connection through the client
 * library (list, subscribe from the listing's position, resume with
 * `since` after a lost connection, re-list when the server cannot replay
 * or an offset jumps), and adds what is the page's own: the token flow
 * before each connection, the connection state and recoveries in words,
 * and requests for what events leave incomplete.
 *
 * @module
 */
import type { Dialer } from "../client/channel.ts";
import { ConnectionError, DorguError, ServerError } from "../client/errors.ts";
import {
  Follower as TopicFollower,
  type FollowState,
  type Listed,
  type Recovery as TopicsRecovery,
} from "../client/follow.ts";
import { openSocket, subprotocols } from "../client/websocket.ts";
import type { PersonaSummary } from "../protocol/shapes.ts";
import { TOPICS } from "../protocol/topics.ts";
import { MAX_EVENTS, type Model } from "./model.ts";

/** The connection, as the page shows it. */
export type ConnectionState =
  | { state: "connecting" }
  | { state: "live" }
  | { state: "reconnecting"; reason: string; retryAt: number }
  | { state: "token"; message: string }
  | { state: "failed"; message: string };

/** How the page caught up after a reconnect. */
export interface Recovery {
  /** `resumed`: the missed events were replayed; else the state re-listed. */
  how: "resumed" | "re-listed";
  /** Why, in words. */
  detail: string;
  /** When, as the client's clock has it. */
  at: Date;
}

/**
 * What the server says about a token (or its absence): taken, refused
 * (`retry`: not the token's fault, the check itself failed), or no answer.
 */
export type AuthAnswer =
  | { ok: true; user?: string }
  | { ok: false; message: string; retry: boolean }
  | { unreachable: string };

/** What the follower needs from the page. */
export interface FollowerOptions {
  /** The WebSocket URL. */
  url: string;
  /** Opens the channel; by default a WebSocket with the token as subprotocol. */
  dial?: (token: string | undefined) => Dialer;
  /** Asks the server whether it takes this token (or none). */
  checkAuth: (token: string | undefined) => Promise<AuthAnswer>;
  /** Resolves with a token the user typed, after showing `message`. */
  askToken: (message: string) => Promise<string>;
  /** The token kept for this tab, if any. */
  token: { get(): string | undefined; set(token: string | undefined): void };
  /** Called whenever the connection state changes. */
  onState: (state: ConnectionState) => void;
  /** Called after each reconnect that had to catch up. */
  onRecovery: (recovery: Recovery) => void;
  /** Called whenever the model changed. */
  onChange: () => void;
}

const REFRESH_EVERY_MS = 500;

/** The four topics followed across reconnects; see the module doc. */
export class Follower {
  readonly #model: Model;
  readonly #options: FollowerOptions;
  readonly #topics: TopicFollower;
  #refreshing = false;
  #refreshedAt = 0;

  /** Creates a follower feeding `model`; {@link Follower.run} starts it. */
  constructor(model: Model, options: FollowerOptions) {
    this.#model = model;
    this.#options = options;
    // A browser sends the token as the subprotocol; it cannot send headers.
    const dial = options.dial ??
      ((token) => (signal) =>
        openSocket(
          () => new WebSocket(options.url, subprotocols(token)),
          signal,
        ));
    this.#topics = new TopicFollower({
      url: options.url,
      dial: (signal) => dial(options.token.get())(signal),
      topics: TOPICS.map((topic) => ({
        topic,
        listing: topic === "events" ? { limit: MAX_EVENTS } : undefined,
      })),
      prepare: () => this.#authorize(),
      retryFirstConnect: true,
      requestIdPrefix: "dash-",
    }, {
      listed: (listed) => this.#listed(listed),
      event: (message) => {
        model.apply(message);
        options.onChange();
      },
      state: (state) => this.#state(state),
      recovered: (recovery) => options.onRecovery(describe(recovery)),
    });
  }

  /** Connects, follows, and reconnects until {@link Follower.stop}. */
  async run(): Promise<void> {
    try {
      await this.#topics.run();
    } catch (error) {
      this.#options.onState({
        state: "failed",
        message: (error as Error).message,
      });
    }
  }

  /** Stops following: closes the connection, and {@link Follower.run} returns. */
  stop(): void {
    this.#topics.stop();
  }

  /**
   * Asks the server for one persona, validation included; the answer goes
   * into the model.
   */
  async loadPersona(key: string): Promise<void> {
    if (!this.#topics.connection) {
      throw new Error("Not connected; try again when the page is live.");
    }
    const [namespace, name] = splitKey(key);
    const reply = await this.#topics.request("personas", { namespace, name });
    this.#model.refresh(personasOf(reply.payload), { key });
    this.#options.onChange();
  }

  /**
   * Asks again for what events left incomplete: personas (one by one when
   * few, by namespace, or all) and the cluster's fields no event carries.
   * At most one round in flight, and one per {@link REFRESH_EVERY_MS}.
   */
  async refresh(): Promise<void> {
    const model = this.#model;
    const now = Date.now();
    if (
      !this.#topics.connection || this.#refreshing ||
      now - this.#refreshedAt < REFRESH_EVERY_MS ||
      (model.stale.size === 0 && !model.clusterStale)
    ) return;
    this.#refreshing = true;
    this.#refreshedAt = now;
    try {
      await this.#refreshCluster();
      await this.#refreshPersonas();
      this.#options.onChange();
    } catch {
      // The connection is gone or refused: the next one lists afresh.
    } finally {
      this.#refreshing = false;
    }
  }

  async #refreshCluster(): Promise<void> {
    if (!this.#model.clusterStale) return;
    const reply = await this.#topics.request("cluster").catch((error) => {
      if (error instanceof ServerError && error.code === "not_found") {
        return null;
      }
      throw error;
    });
    this.#model.list("cluster", reply);
  }

  async #refreshPersonas(): Promise<void> {
    const model = this.#model;
    const request = this.#topics.request.bind(this.#topics);
    const all = [...model.stale];
    // A persona whose validation is open is asked for by name, to refresh
    // the validation a listing does not carry.
    const named = all.length <= 3
      ? all
      : all.filter((key) => model.pinned.has(key)).slice(0, 3);
    await Promise.all(named.map(async (key) => {
      const [namespace, name] = splitKey(key);
      const reply = await request("personas", { namespace, name });
      model.refresh(personasOf(reply.payload), { key });
    }));
    const keys = [...model.stale].filter((key) => !model.pinned.has(key));
    const namespaces = [...new Set(keys.map((key) => splitKey(key)[0]))];
    if (keys.length > 0 && namespaces.length <= 3) {
      await Promise.all(namespaces.map(async (namespace) => {
        const reply = await request("personas", { namespace });
        model.refresh(personasOf(reply.payload), { namespace });
      }));
    } else if (keys.length > 0) {
      model.list("personas", await request("personas"));
    }
  }

  // Before each connection: the server must say it takes the token (a
  // browser is told nothing of why a WebSocket did not open); when it
  // does not, the user is asked for one.
  async #authorize(): Promise<void> {
    const { token, checkAuth, askToken, onState } = this.#options;
    while (true) {
      const current = token.get();
      const answer = await checkAuth(current);
      if ("unreachable" in answer) {
        throw new DorguError(answer.unreachable, { retry: true });
      }
      if (answer.ok) return;
      if (answer.retry) throw new DorguError(answer.message, { retry: true });
      const message = current === undefined
        ? "This server asks for a token."
        : `The server refused the token: ${answer.message}`;
      token.set(undefined);
      onState({ state: "token", message });
      token.set(await askToken(message));
    }
  }

  #listed(listed: Listed): void {
    this.#model.list(listed.topic, listed.response);
    if (listed.cause === "gap") {
      const missed = listed.missed ?? 0;
      this.#options.onRecovery({
        how: "re-listed",
        detail: `this page missed ${missed} ${listed.topic} event${
          missed === 1 ? "" : "s"
        } (it fell behind)`,
        at: new Date(),
      });
    }
    this.#options.onChange();
  }

  #state(state: FollowState): void {
    const { onState } = this.#options;
    if (state.state === "connecting" || state.state === "live") {
      onState(state);
    } else if (state.state === "reconnecting") {
      onState({
        state: "reconnecting",
        // A browser is told nothing of why a WebSocket did not open.
        reason: state.error instanceof ConnectionError
          ? "the server did not take the connection; it may be busy or shutting down"
          : state.reason,
        retryAt: Date.now() + state.waitMs,
      });
    }
  }
}

function describe(recovery: TopicsRecovery): Recovery {
  const relisted = recovery.topics.filter((t) => t.how === "re-listed");
  if (relisted.length === 0) {
    const replayed = recovery.topics.reduce((sum, t) => sum + t.replayed, 0);
    return {
      how: "resumed",
      detail: `replayed ${replayed} missed event${replayed === 1 ? "" : "s"}`,
      at: new Date(),
    };
  }
  return {
    how: "re-listed",
    detail: recovery.restarted
      ? "after a server restart"
      : "the missed events had left the server's history",
    at: new Date(),
  };
}

function splitKey(key: string): [string, string] {
  const slash = key.indexOf("/");
  return [key.slice(0, slash), key.slice(slash + 1)];
}

function personasOf(payload: { personas: PersonaSummary[] }): PersonaSummary[] {
  return payload.personas;
}
