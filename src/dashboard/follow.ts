/**
 * Following the four topics on one WebSocket, the way the CLI's watch
 * follows one: list, subscribe from the listing's position, and after a
 * lost connection reconnect with backoff and resume with `since`. When the
 * server cannot replay what was missed (it restarted, or the events left
 * its history) or an offset jumps, the topic is listed again, and the page
 * says which of these happened. An event at or before the position already
 * applied is skipped, so nothing is applied twice.
 *
 * @module
 */
import {
  type EventMessage,
  type PersonaSummary,
  type Position,
  type ResponseMessage,
  type SubscribedPayload,
  type Topic,
  TOPICS,
} from "../protocol/mod.ts";
import { Backoff, delay } from "../retry.ts";
import { type Link, Refused } from "./link.ts";
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
  /** Opens a link. */
  open: (url: string, token: string | undefined) => Promise<Link>;
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

// Refusals that pass on their own: the server is still listing, or this
// page asked too fast.
const PASSING = new Set(["not_ready", "rate_limited"]);

/** The four topics followed across reconnects; see the module doc. */
export class Follower {
  readonly #model: Model;
  readonly #options: FollowerOptions;
  readonly #backoff = new Backoff({ initialMs: 500, maxMs: 10_000 });
  readonly #positions = new Map<Topic, Position>();
  /** Events held per topic while its listing is in flight. */
  readonly #held = new Map<Topic, EventMessage[]>();
  readonly #stopped = new AbortController();
  #link: Link | undefined;
  #epoch: string | undefined;
  #refreshing = false;
  #refreshedAt = 0;

  /** Creates a follower feeding `model`; {@link Follower.run} starts it. */
  constructor(model: Model, options: FollowerOptions) {
    this.#model = model;
    this.#options = options;
  }

  /** Connects, follows, and reconnects until {@link Follower.stop}. */
  async run(): Promise<void> {
    const { onState } = this.#options;
    const stopped = this.#stopped.signal;
    while (!stopped.aborted) {
      onState({ state: "connecting" });
      const link = await this.#connect();
      if (!link) continue;
      if (stopped.aborted) {
        link.close();
        break;
      }
      this.#link = link;
      link.onEvent = (message) => this.#receive(message);
      let reason: string;
      try {
        await this.#attach(link);
        this.#backoff.reset();
        onState({ state: "live" });
        reason = (await link.ended).reason;
      } catch (error) {
        link.close();
        if (error instanceof Refused && !PASSING.has(error.code)) {
          onState({ state: "failed", message: error.message });
          return;
        }
        reason = (error as Error).message;
      }
      this.#link = undefined;
      this.#held.clear();
      if (!stopped.aborted) await this.#wait(reason);
    }
  }

  /** Stops following: closes the link, and {@link Follower.run} returns. */
  stop(): void {
    this.#stopped.abort();
    this.#link?.close();
  }

  /**
   * Asks the server for one persona, validation included; the answer goes
   * into the model.
   */
  async loadPersona(key: string): Promise<void> {
    const link = this.#link;
    if (!link) {
      throw new Error("Not connected; try again when the page is live.");
    }
    const [namespace, name] = splitKey(key);
    const reply = await link.call("request", "personas", { namespace, name });
    this.#model.refresh(personasOf(reply), { key });
    this.#options.onChange();
  }

  /**
   * Asks again for what events left incomplete: personas (one by one when
   * few, by namespace, or all) and the cluster's fields no event carries.
   * At most one round in flight, and one per {@link REFRESH_EVERY_MS}.
   */
  async refresh(): Promise<void> {
    const link = this.#link;
    const model = this.#model;
    const now = Date.now();
    if (
      !link || this.#refreshing || now - this.#refreshedAt < REFRESH_EVERY_MS ||
      (model.stale.size === 0 && !model.clusterStale)
    ) return;
    this.#refreshing = true;
    this.#refreshedAt = now;
    try {
      if (model.clusterStale) {
        const reply = await link.call("request", "cluster").catch((error) => {
          if (error instanceof Refused && error.code === "not_found") {
            return null;
          }
          throw error;
        });
        model.list("cluster", reply);
      }
      const all = [...model.stale];
      // A persona whose validation is open is asked for by name, to
      // refresh the validation a listing does not carry.
      const named = all.length <= 3
        ? all
        : all.filter((key) => model.pinned.has(key)).slice(0, 3);
      await Promise.all(named.map(async (key) => {
        const [namespace, name] = splitKey(key);
        const reply = await link.call("request", "personas", {
          namespace,
          name,
        });
        model.refresh(personasOf(reply), { key });
      }));
      const keys = [...model.stale].filter((key) => !model.pinned.has(key));
      const namespaces = [...new Set(keys.map((key) => splitKey(key)[0]))];
      if (keys.length > 0 && namespaces.length <= 3) {
        await Promise.all(namespaces.map(async (namespace) => {
          const reply = await link.call("request", "personas", { namespace });
          model.refresh(personasOf(reply), { namespace });
        }));
      } else if (keys.length > 0) {
        model.list("personas", await link.call("request", "personas"));
      }
      this.#options.onChange();
    } catch {
      // The link is gone or refused: the next connection lists afresh.
    } finally {
      this.#refreshing = false;
    }
  }

  // Opens a link once the server has said it takes the token (a browser
  // is told nothing of why a WebSocket did not open); when it does not,
  // asks the user for one. Undefined: try again.
  async #connect(): Promise<Link | undefined> {
    const { token, checkAuth, askToken, open, onState, url } = this.#options;
    const current = token.get();
    const answer = await checkAuth(current);
    if ("unreachable" in answer) {
      await this.#wait(answer.unreachable);
      return undefined;
    }
    if (!answer.ok && answer.retry) {
      await this.#wait(answer.message);
      return undefined;
    }
    if (!answer.ok) {
      const message = current === undefined
        ? "This server asks for a token."
        : `The server refused the token: ${answer.message}`;
      token.set(undefined);
      onState({ state: "token", message });
      token.set(await askToken(message));
      return undefined;
    }
    try {
      return await open(url, current);
    } catch (error) {
      await this.#wait(
        `the server did not take the connection (${
          (error as Error).message
        } It may be busy or shutting down.)`,
      );
      return undefined;
    }
  }

  async #wait(reason: string): Promise<void> {
    const wait = this.#backoff.next();
    this.#options.onState({
      state: "reconnecting",
      reason,
      retryAt: Date.now() + wait,
    });
    await delay(wait, this.#stopped.signal);
  }

  // Lists and subscribes every topic, then says how the page caught up.
  async #attach(link: Link): Promise<void> {
    const resuming = this.#positions.size > 0;
    const before = this.#epoch;
    const outcomes = await Promise.all(
      TOPICS.map((topic) => this.#attachTopic(link, topic)),
    );
    if (!resuming) return;
    const relisted = outcomes.filter((o) => o.relisted).length;
    const replayed = outcomes.reduce((sum, o) => sum + o.replayed, 0);
    this.#options.onRecovery(
      relisted === 0
        ? {
          how: "resumed",
          detail: `replayed ${replayed} missed event${
            replayed === 1 ? "" : "s"
          }`,
          at: new Date(),
        }
        : {
          how: "re-listed",
          detail: before !== this.#epoch
            ? "after a server restart"
            : "the missed events had left the server's history",
          at: new Date(),
        },
    );
  }

  async #attachTopic(
    link: Link,
    topic: Topic,
  ): Promise<{ relisted: boolean; replayed: number }> {
    let since = this.#positions.get(topic);
    const first = since === undefined;
    if (first) {
      await this.#list(link, topic);
      since = this.#positions.get(topic);
    }
    const reply = await link.call(
      "subscribe",
      topic,
      since ? { since } : {},
    );
    const subscribed = reply.payload as SubscribedPayload;
    if (since && subscribed.recovered) {
      return { relisted: false, replayed: subscribed.replayed ?? 0 };
    }
    this.#setPosition(topic, subscribed);
    await this.#list(link, topic);
    return { relisted: !first, replayed: 0 };
  }

  // Lists a topic into the model; events arriving meanwhile are held, then
  // applied if the listing does not already cover them.
  async #list(link: Link, topic: Topic): Promise<void> {
    if (!this.#held.has(topic)) this.#held.set(topic, []);
    let listed: ResponseMessage | null = null;
    try {
      listed = await link.call(
        "request",
        topic,
        topic === "events" ? { limit: MAX_EVENTS } : {},
      );
    } catch (error) {
      // No ClusterPersona yet: nothing to list; its creation will come.
      if (!(error instanceof Refused && error.code === "not_found")) {
        this.#held.delete(topic);
        throw error;
      }
    }
    const held = this.#held.get(topic) ?? [];
    this.#held.delete(topic);
    if (listed) this.#setPosition(topic, listed);
    this.#model.list(topic, listed);
    for (const message of held) this.#receive(message);
    this.#options.onChange();
  }

  #setPosition(topic: Topic, at: { epoch: string; offset: number }): void {
    this.#epoch = at.epoch;
    this.#positions.set(topic, { epoch: at.epoch, offset: at.offset });
  }

  #receive(message: EventMessage): void {
    const topic = message.topic;
    const held = this.#held.get(topic);
    if (held) {
      held.push(message);
      return;
    }
    const position = this.#positions.get(topic);
    if (position && message.offset <= position.offset) return;
    if (position && message.offset > position.offset + 1) {
      const missed = message.offset - position.offset - 1;
      const link = this.#link;
      if (!link) return;
      this.#held.set(topic, [message]);
      this.#list(link, topic).then(() =>
        this.#options.onRecovery({
          how: "re-listed",
          detail: `this page missed ${missed} ${topic} event${
            missed === 1 ? "" : "s"
          } (it fell behind)`,
          at: new Date(),
        })
      ).catch(() => link.close());
      return;
    }
    this.#positions.set(topic, {
      epoch: position?.epoch ?? this.#epoch ?? "",
      offset: message.offset,
    });
    this.#model.apply(message);
    this.#options.onChange();
  }
}

function splitKey(key: string): [string, string] {
  const slash = key.indexOf("/");
  return [key.slice(0, slash), key.slice(slash + 1)];
}

function personasOf(reply: ResponseMessage): PersonaSummary[] {
  return (reply.payload as { personas: PersonaSummary[] }).personas;
}
