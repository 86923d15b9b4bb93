/**
 * The topic registry: for each topic a ring buffer of its newest events and
 * the set of subscriptions, and the fan-out from one to the other. Each
 * event is serialized once; every subscriber is handed the same string.
 */
import {
  type EventPayload,
  type Filter,
  type Position,
  type SubscribedPayload,
  timestamp,
  type Topic,
  TOPICS,
} from "../protocol/mod.ts";
import { RingBuffer } from "./ring_buffer.ts";
import {
  inScope,
  type Session,
  type Subscription,
  utf8Length,
} from "./session.ts";

/** One published event, as the ring buffer holds it. */
export interface StoredEvent {
  /** Position on its topic: one more than the event before it. */
  readonly offset: number;
  /** Namespace of the object it is about; "" when cluster-scoped. */
  readonly namespace: string;
  /** Name of the object it is about. */
  readonly name: string;
  /** A second name a name filter also matches (e.g. the involved object). */
  readonly alias: string;
  /** The payload, kept for `request events`. */
  readonly payload: EventPayload;
  /** The serialized `event` message, shared by every subscriber. */
  readonly frame: string;
  /** UTF-8 length of `frame`. */
  readonly bytes: number;
}

/** What identifies the object an event is about, for filters. */
export interface EventKeys {
  /** Namespace; omit or "" for cluster-scoped objects. */
  namespace?: string;
  /** Object name. */
  name: string;
  /** Another name a name filter also matches. */
  alias?: string;
}

/** Counters and gauges of one topic, for `/metrics`. */
export interface TopicStats {
  /** Current subscriptions. */
  subscribers: number;
  /** Event messages handed to clients. */
  sent: number;
  /** Events dropped for clients whose send buffer was full. */
  dropped: number;
  /** Events held in the ring buffer. */
  held: number;
  /** Ring buffer capacity. */
  capacity: number;
  /** Offset of the newest event. */
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
  /** Milliseconds on a monotonic clock; `performance.now` by default. */
  clock?: () => number;
}

class TopicStream {
  readonly ring: RingBuffer<StoredEvent>;
  readonly subscribers = new Set<Subscription>();
  offset = 0;
  sent = 0;
  dropped = 0;

  constructor(readonly topic: Topic, historySize: number) {
    this.ring = new RingBuffer(historySize);
  }
}

/** The topic registry and fan-out. */
export class Hub {
  /** Random per process: a resume from another process is refused. */
  readonly epoch: string;
  #topics = new Map<Topic, TopicStream>();
  #sessions = new Set<Session>();
  #clock: () => number;

  /** Creates the registry with an empty stream per topic. */
  constructor(options: HubOptions) {
    this.epoch = options.epoch ?? randomEpoch();
    this.#clock = options.clock ?? (() => performance.now());
    for (const topic of TOPICS) {
      this.#topics.set(topic, new TopicStream(topic, options.historySize));
    }
  }

  /** Sessions currently attached. */
  get sessions(): ReadonlySet<Session> {
    return this.#sessions;
  }

  /** Starts tracking `session` (for sweeps and shutdown). */
  attach(session: Session): void {
    this.#sessions.add(session);
  }

  /** Forgets `session` and all its subscriptions. Idempotent. */
  detach(session: Session): void {
    if (!this.#sessions.delete(session)) return;
    for (const topic of TOPICS) {
      const subscription = session.subscriptions[topic];
      if (subscription) this.#stream(topic).subscribers.delete(subscription);
      delete session.subscriptions[topic];
    }
    session.detach();
  }

  /**
   * Publishes an event: stamps the next offset, serializes it once, keeps it
   * in the topic's history and hands it to every matching subscriber.
   */
  publish(topic: Topic, payload: EventPayload, keys: EventKeys): StoredEvent {
    const stream = this.#stream(topic);
    const offset = ++stream.offset;
    const frame = JSON.stringify({
      type: "event",
      topic,
      payload,
      timestamp: timestamp(),
      offset,
    });
    const event: StoredEvent = {
      offset,
      namespace: keys.namespace ?? "",
      name: keys.name,
      alias: keys.alias ?? "",
      payload,
      frame,
      bytes: utf8Length(frame),
    };
    stream.ring.push(event);
    let sent = 0;
    let dropped = 0;
    const now = this.#clock();
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
    const stream = this.#stream(topic);
    const previous = session.subscriptions[topic];
    if (previous) stream.subscribers.delete(previous);
    const subscription: Subscription = {
      session,
      namespace: options.filter.namespace,
      name: options.filter.name,
    };
    stream.subscribers.add(subscription);
    session.subscriptions[topic] = subscription;

    const payload: SubscribedPayload = {
      status: "subscribed",
      topic,
      epoch: this.epoch,
      offset: stream.offset,
    };
    const replay: StoredEvent[] = [];
    if (options.since) {
      const missed = this.#since(stream, options.since);
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
    const subscription = session.subscriptions[topic];
    if (!subscription) return;
    this.#stream(topic).subscribers.delete(subscription);
    delete session.subscriptions[topic];
  }

  /** The current position of `topic`'s stream. */
  position(topic: Topic): Position {
    return { epoch: this.epoch, offset: this.#stream(topic).offset };
  }

  /**
   * The newest events `topic` still holds, oldest first, limited to
   * `namespace` and to what `scope` may see.
   */
  recent(
    topic: Topic,
    options: {
      namespace?: string;
      limit: number;
      scope?: ReadonlySet<string> | null;
    },
  ): EventPayload[] {
    const ring = this.#stream(topic).ring;
    const picked: EventPayload[] = [];
    for (let i = ring.size - 1; i >= 0 && picked.length < options.limit; i--) {
      const event = ring.at(i) as StoredEvent;
      if (options.namespace && event.namespace !== options.namespace) continue;
      if (!inScope(options.scope ?? null, event.namespace)) continue;
      picked.push(event.payload);
    }
    return picked.reverse();
  }

  /**
   * Closes sessions whose client stopped reading for `writeTimeoutMs`.
   * The server calls this about once a second.
   */
  sweep(now: number, writeTimeoutMs: number): number {
    let closed = 0;
    for (const session of this.#sessions) {
      if (!session.checkWrites(now, writeTimeoutMs)) closed++;
    }
    return closed;
  }

  /** Closes every session with 1001, for shutdown. */
  closeAll(reason: string): void {
    for (const session of [...this.#sessions]) {
      session.close("shutdown", reason);
      this.detach(session);
    }
  }

  /** Per-topic counters for `/metrics`. */
  stats(): Map<Topic, TopicStats> {
    const stats = new Map<Topic, TopicStats>();
    for (const [topic, stream] of this.#topics) {
      stats.set(topic, {
        subscribers: stream.subscribers.size,
        sent: stream.sent,
        dropped: stream.dropped,
        held: stream.ring.size,
        capacity: stream.ring.capacity,
        offset: stream.offset,
      });
    }
    return stats;
  }

  #stream(topic: Topic): TopicStream {
    return this.#topics.get(topic) as TopicStream;
  }

  #since(
    stream: TopicStream,
    since: Position,
  ): StoredEvent[] | undefined {
    if (since.epoch !== this.epoch || since.offset > stream.offset) {
      return undefined;
    }
    const oldest = stream.ring.at(0);
    const firstHeld = oldest ? oldest.offset : stream.offset + 1;
    if (since.offset < firstHeld - 1) return undefined;
    const missed: StoredEvent[] = [];
    // Offsets are consecutive, so the first missed event's index is known.
    for (let i = since.offset + 1 - firstHeld; i < stream.ring.size; i++) {
      missed.push(stream.ring.at(i) as StoredEvent);
    }
    return missed;
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
  return inScope(subscription.session.scope, event.namespace);
}

function randomEpoch(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(8));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}
