/**
 * The topic registry: for each topic its history and its subscriptions,
 * and the fan-out from one to the other. Each event is serialized and
 * framed once; every subscriber's queue gets the same bytes.
 *
 * @module
 */
import {
  type EventKeys,
  type EventPayload,
  type Filter,
  type Position,
  type SubscribedPayload,
  timestamp,
  type Topic,
  TOPICS,
} from "../protocol/mod.ts";
import { encodeText } from "../transport/frames.ts";
import { type StoredEvent, TopicHistory } from "./history.ts";
import type { NamespaceGate, Session } from "./session.ts";

/** One client's interest in one topic. */
export interface Subscription {
  /** The session that receives the events. */
  readonly session: Session;
  /** Only events in this namespace, if set. */
  readonly namespace: string | undefined;
  /** Only events about this object (or its alias), if set. */
  readonly name: string | undefined;
}

/** Counters and gauges of one topic, for `/metrics`. */
export interface TopicStats {
  /** Current subscriptions. */
  subscribers: number;
  /** Event messages handed to clients. */
  sent: number;
  /** Events dropped for clients whose send buffer was full. */
  dropped: number;
  /** Events held in the history. */
  held: number;
  /** History capacity. */
  capacity: number;
  /** Offset of the newest event: how many were published. */
  offset: number;
}

/** The outcome of {@link Hub.subscribe}. */
export interface SubscribeOutcome {
  /** The `subscribed` response payload. */
  payload: SubscribedPayload;
  /** Events to replay after the response, oldest first. */
  replay: StoredEvent[];
}

/** Options for {@link Hub}. */
export interface HubOptions {
  /** Events each topic keeps for resume and `request events`. */
  historySize: number;
  /** The epoch; random by default. Tests pin it. */
  epoch?: string;
}

class TopicStream {
  readonly history: TopicHistory;
  readonly subscribers = new Set<Subscription>();
  sent = 0;
  dropped = 0;

  constructor(historySize: number) {
    this.history = new TopicHistory(historySize);
  }
}

/** The topic registry and fan-out. */
export class Hub {
  /** Random per process: a resume from another process is refused. */
  readonly epoch: string;
  #topics = new Map<Topic, TopicStream>();
  #subscriptions = new Map<Session, Map<Topic, Subscription>>();

  /** Creates the registry with an empty stream per topic. */
  constructor(options: HubOptions) {
    this.epoch = options.epoch ?? randomEpoch();
    for (const topic of TOPICS) {
      this.#topics.set(topic, new TopicStream(options.historySize));
    }
  }

  /** Sessions attached now. */
  get sessions(): number {
    return this.#subscriptions.size;
  }

  /** Starts tracking `session`. */
  attach(session: Session): void {
    if (!this.#subscriptions.has(session)) {
      this.#subscriptions.set(session, new Map());
    }
  }

  /** Forgets `session` and all its subscriptions. Idempotent. */
  detach(session: Session): void {
    const subscriptions = this.#subscriptions.get(session);
    if (!subscriptions) return;
    this.#subscriptions.delete(session);
    for (const [topic, subscription] of subscriptions) {
      this.#stream(topic).subscribers.delete(subscription);
    }
  }

  /**
   * Publishes an event: stamps the next offset, serializes and frames it
   * once, keeps it in the topic's history and hands it to every matching
   * subscriber.
   */
  publish(topic: Topic, payload: EventPayload, keys: EventKeys): StoredEvent {
    const stream = this.#stream(topic);
    const offset = stream.history.nextOffset;
    const event: StoredEvent = {
      offset,
      namespace: keys.namespace ?? "",
      name: keys.name,
      alias: keys.alias ?? "",
      payload,
      wire: encodeText(JSON.stringify({
        type: "event",
        topic,
        payload,
        timestamp: timestamp(),
        offset,
      })),
    };
    stream.history.append(event);
    let sent = 0;
    let dropped = 0;
    const now = performance.now();
    for (const subscription of stream.subscribers) {
      if (!matches(subscription, event)) continue;
      if (subscription.session.deliver(event, now)) sent++;
      else dropped++;
    }
    stream.sent += sent;
    stream.dropped += dropped;
    return event;
  }

  /**
   * Subscribes `session` to `topic`, replacing any earlier filter. With
   * `since`, returns the events after it when this process still holds them
   * all, or `recovered: false` when it cannot (another epoch, or an offset
   * that has left the history or never existed).
   */
  subscribe(
    session: Session,
    topic: Topic,
    options: { filter: Filter; since?: Position },
  ): SubscribeOutcome {
    this.attach(session);
    const stream = this.#stream(topic);
    const subscriptions = this.#subscriptions.get(session) as Map<
      Topic,
      Subscription
    >;
    const previous = subscriptions.get(topic);
    if (previous) stream.subscribers.delete(previous);
    const subscription: Subscription = {
      session,
      namespace: options.filter.namespace,
      name: options.filter.name,
    };
    stream.subscribers.add(subscription);
    subscriptions.set(topic, subscription);

    const payload: SubscribedPayload = {
      status: "subscribed",
      topic,
      epoch: this.epoch,
      offset: stream.history.offset,
    };
    const replay: StoredEvent[] = [];
    if (options.since) {
      const missed = options.since.epoch === this.epoch
        ? stream.history.since(options.since.offset)
        : undefined;
      payload.recovered = missed !== undefined;
      for (const event of missed ?? []) {
        if (matches(subscription, event)) replay.push(event);
      }
      if (missed) payload.replayed = replay.length;
    }
    return { payload, replay };
  }

  /** Removes `session`'s subscription to `topic`, if any. */
  unsubscribe(session: Session, topic: Topic): void {
    const subscription = this.#subscriptions.get(session)?.get(topic);
    if (!subscription) return;
    this.#stream(topic).subscribers.delete(subscription);
    this.#subscriptions.get(session)?.delete(topic);
  }

  /** The current position of `topic`'s stream. */
  position(topic: Topic): Position {
    return { epoch: this.epoch, offset: this.#stream(topic).history.offset };
  }

  /**
   * The newest events `topic` still holds, oldest first, limited to
   * `namespace` and to what `scope` may see (everything by default).
   */
  recent(
    topic: Topic,
    options: { namespace?: string; limit: number; scope?: NamespaceGate },
  ): EventPayload[] {
    return this.#stream(topic).history.newest(
      options.limit,
      (event) =>
        (!options.namespace || event.namespace === options.namespace) &&
        (options.scope === undefined || options.scope.allows(event.namespace)),
    ).map((event) => event.payload);
  }

  /** Per-topic counters for `/metrics`. */
  stats(): Map<Topic, TopicStats> {
    const stats = new Map<Topic, TopicStats>();
    for (const [topic, stream] of this.#topics) {
      stats.set(topic, {
        subscribers: stream.subscribers.size,
        sent: stream.sent,
        dropped: stream.dropped,
        held: stream.history.size,
        capacity: stream.history.capacity,
        offset: stream.history.offset,
      });
    }
    return stats;
  }

  #stream(topic: Topic): TopicStream {
    return this.#topics.get(topic) as TopicStream;
  }
}

function matches(subscription: Subscription, event: StoredEvent): boolean {
  if (
    subscription.namespace !== undefined &&
    subscription.namespace !== event.namespace
  ) return false;
  if (
    subscription.name !== undefined &&
    subscription.name !== event.name && subscription.name !== event.alias
  ) return false;
  return subscription.session.scope.allows(event.namespace);
}

function randomEpoch(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(8));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}
