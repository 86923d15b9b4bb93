/**
 * Inbound messages: parsing, the per-client rate limit, the namespace
 * check, and routing to the hub (subscribe, unsubscribe) or to the request
 * answers. Every message gets exactly one reply, and nothing a client
 * sends can throw out of here. Size limits are the transport's: a message
 * over the limit never reaches this module.
 *
 * @module
 */
import type { Hub, Session } from "../hub/mod.ts";
import {
  createLogger,
  type Logger,
  type ThrottledLogger,
  throttleLog,
} from "../log.ts";
import {
  type ClientMessage,
  type ErrorCode,
  type ErrorPayload,
  parseClientMessage,
  timestamp,
  type Topic,
  TOPICS,
} from "../protocol/mod.ts";
import type { Queries } from "../sources/mod.ts";
import { Histogram, LATENCY_BUCKETS } from "./histogram.ts";
import { TokenBucket } from "./rate_limiter.ts";
import { answer } from "./requests.ts";
import type { NamespaceScope } from "./scope.ts";

/** A connected client: its hub session, its scope and its rate limit. */
export interface Client {
  /** The hub's view of the client. */
  readonly session: Session;
  /** The namespaces it may see. */
  readonly scope: NamespaceScope;
  /** Its inbound message budget. */
  readonly bucket: TokenBucket;
}

/** Counters for `/metrics`. */
export interface InboundStats {
  /** Request latency by topic. */
  latency: Map<Topic, Histogram>;
  /** Error replies by code. */
  errors: Map<ErrorCode, number>;
  /** Messages refused by the rate limit. */
  rateLimited: number;
}

/** Options for {@link Inbound}. */
export interface InboundOptions {
  /** The sources' queries. */
  queries: Queries;
  /** Where unexpected failures, and each message at debug, are logged. */
  log?: Logger;
  /** Where refusals a client can make repeat are logged. */
  limited?: ThrottledLogger;
}

type Echo = { topic?: string; requestId?: string };

/** Handles every client's inbound messages. */
export class Inbound {
  /** Counters for `/metrics`. */
  readonly stats: InboundStats = {
    latency: new Map(TOPICS.map((t) => [t, new Histogram(LATENCY_BUCKETS)])),
    errors: new Map(),
    rateLimited: 0,
  };
  #hub: Hub;
  #queries: Queries;
  #log: Logger;
  #limited: ThrottledLogger;

  /** Routes messages into `hub` and answers requests from `queries`. */
  constructor(hub: Hub, options: InboundOptions) {
    this.#hub = hub;
    this.#queries = options.queries;
    this.#log = options.log ?? createLogger();
    this.#limited = options.limited ?? throttleLog(this.#log);
  }

  /** Handles one text message from `client`. */
  text(client: Client, text: string): void {
    const started = performance.now();
    const parsed = parseClientMessage(text);
    if (!this.#admit(client, started, parsed.ok ? parsed.message : parsed)) {
      return;
    }
    if (!parsed.ok) {
      this.#error(client, parsed.error, parsed);
      return;
    }
    const message = parsed.message;
    const namespace = requestedNamespace(message);
    if (namespace && !client.scope.allows(namespace)) {
      this.#limited.info("Refused a message: namespace not allowed", {
        session: client.session.id,
        user: client.session.user,
        type: message.type,
        topic: message.topic,
        namespace,
      }, { key: "forbidden" });
      this.#error(client, {
        code: "forbidden",
        message:
          `You may not list objects in namespace ${namespace}; ask for a namespace you have access to.`,
      }, message);
      return;
    }
    try {
      this.#route(client, message, started);
    } catch (error) {
      this.#log.error("Handling a client message failed", {
        error,
        session: client.session.id,
        type: message.type,
        topic: message.topic,
      });
      this.#error(client, {
        code: "internal",
        message: "The server failed to handle this message; it was logged.",
      }, message);
    }
  }

  /** Handles one binary message: always refused, and rate limited. */
  binary(client: Client): void {
    if (!this.#admit(client, performance.now(), {})) return;
    this.#error(client, {
      code: "invalid_message",
      message: "Binary frames are not supported; send JSON as text frames.",
    });
  }

  // Spends a rate-limit token; answers rate_limited when there is none.
  #admit(client: Client, now: number, echo: Echo): boolean {
    if (client.bucket.take(now)) return true;
    this.stats.rateLimited++;
    this.#error(client, {
      code: "rate_limited",
      message: "Too many messages: wait a moment, then send fewer per second.",
    }, echo);
    return false;
  }

  #route(client: Client, message: ClientMessage, started: number): void {
    const session = client.session;
    switch (message.type) {
      case "subscribe": {
        const outcome = this.#hub.subscribe(session, message.topic, {
          filter: message.filter,
          since: message.since,
        });
        this.#respond(client, message, outcome.payload);
        for (const event of outcome.replay) session.replay(event);
        this.#log.debug("Subscribed", {
          session: session.id,
          topic: message.topic,
          filter: message.filter,
          since: message.since,
          recovered: outcome.payload.recovered,
          replayed: outcome.payload.replayed,
        });
        return;
      }
      case "unsubscribe":
        this.#hub.unsubscribe(session, message.topic);
        this.#log.debug("Unsubscribed", {
          session: session.id,
          topic: message.topic,
        });
        this.#respond(client, message, {
          status: "unsubscribed",
          topic: message.topic,
        });
        return;
      case "request": {
        const echo = {
          topic: message.query.topic,
          requestId: message.requestId,
        };
        const result = answer(message.query, {
          queries: this.#queries,
          hub: this.#hub,
          scope: client.scope,
        });
        if ("error" in result) this.#error(client, result.error, echo);
        else this.#respond(client, echo, result.payload);
        const seconds = (performance.now() - started) / 1000;
        this.stats.latency.get(message.topic)?.observe(seconds);
        this.#log.debug("Answered a request", {
          session: session.id,
          requestId: message.requestId,
          query: message.query,
          error: "error" in result ? result.error.code : undefined,
          durationSeconds: Math.round(seconds * 1e6) / 1e6,
        });
        return;
      }
    }
  }

  #respond(
    client: Client,
    echo: { topic: Topic; requestId?: string },
    payload: unknown,
  ): void {
    // Read in the same turn as the answer, so list-then-watch has no gap.
    const position = this.#hub.position(echo.topic);
    client.session.reply({
      type: "response",
      topic: echo.topic,
      requestId: echo.requestId,
      payload,
      timestamp: timestamp(),
      epoch: position.epoch,
      offset: position.offset,
    });
  }

  #error(client: Client, error: ErrorPayload, echo: Echo = {}): void {
    this.stats.errors.set(
      error.code,
      (this.stats.errors.get(error.code) ?? 0) + 1,
    );
    this.#log.debug("Answered with an error", {
      session: client.session.id,
      code: error.code,
      topic: echo.topic,
      requestId: echo.requestId,
    });
    client.session.reply({
      type: "error",
      topic: echo.topic,
      requestId: echo.requestId,
      payload: error,
      timestamp: timestamp(),
    });
  }
}

function requestedNamespace(message: ClientMessage): string | undefined {
  if (message.type === "subscribe") return message.filter.namespace;
  if (message.type === "request" && message.query.topic !== "cluster") {
    return message.query.namespace;
  }
  return undefined;
}
