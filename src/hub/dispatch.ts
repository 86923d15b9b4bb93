/**
 * Inbound messages: size and rate limits, parsing, and routing to the hub
 * (subscribe, unsubscribe) or to the query source (request). Every message
 * gets exactly one reply, and nothing a client sends can throw out of here.
 */
import { createLogger, type Logger } from "../log.ts";
import {
  type ClientMessage,
  type ClusterInfo,
  DEFAULT_EVENTS_LIMIT,
  type DeploymentSummary,
  type ErrorCode,
  type ErrorPayload,
  parseClientMessage,
  type ParseResult,
  type PersonaSummary,
  type Query,
  timestamp,
  type Topic,
  TOPICS,
} from "../protocol/mod.ts";
import { Histogram, LATENCY_BUCKETS } from "./histogram.ts";
import type { Hub } from "./hub.ts";
import { inScope, type Session, utf8Length } from "./session.ts";

/**
 * Where `request` messages are answered from: queries over the source's
 * cache. They return everything matching the query; the dispatcher keeps
 * a client to its namespace scope. A ClusterPersona lookup that finds
 * nothing says why, and the client receives that as `not_found`.
 */
export interface QuerySource {
  /** Why `topic` cannot be answered yet; undefined once it can. */
  notReady(topic: Topic): string | undefined;
  /** Personas matching the namespace and name. */
  personas(query: { namespace?: string; name?: string }): PersonaSummary[];
  /** Deployments matching the namespace and name. */
  deployments(
    query: { namespace?: string; name?: string },
  ): DeploymentSummary[];
  /** The ClusterPersona named `name`, or the default one. */
  clusterPersona(
    name: string | undefined,
  ): { ok: true; value: ClusterInfo } | { ok: false; reason: string };
}

/** Options for {@link Dispatcher}. */
export interface DispatcherOptions {
  /** Largest inbound message in bytes; larger ones close with 1009. */
  maxMessageBytes: number;
  /** Where unexpected failures are logged. */
  log?: Logger;
}

/** Counters for `/metrics`. */
export interface DispatchStats {
  /** Request latency by topic. */
  latency: Map<Topic, Histogram>;
  /** Error replies by code. */
  errors: Map<ErrorCode, number>;
  /** Messages refused by the rate limit. */
  rateLimited: number;
}

/** Routes inbound frames and sends the replies. */
export class Dispatcher {
  #hub: Hub;
  #queries: QuerySource;
  #maxBytes: number;
  #log: Logger;
  #stats: DispatchStats = {
    latency: new Map(TOPICS.map((t) => [t, new Histogram(LATENCY_BUCKETS)])),
    errors: new Map(),
    rateLimited: 0,
  };

  /** Creates a dispatcher answering requests from `queries`. */
  constructor(hub: Hub, queries: QuerySource, options: DispatcherOptions) {
    this.#hub = hub;
    this.#queries = queries;
    this.#maxBytes = options.maxMessageBytes;
    this.#log = options.log ?? createLogger();
  }

  /** Counters for `/metrics`. */
  get stats(): DispatchStats {
    return this.#stats;
  }

  /** Handles one inbound frame from `session`. */
  receive(session: Session, data: unknown): void {
    if (session.closed) return;
    if (tooBig(data, this.#maxBytes)) {
      session.close(
        "message_too_big",
        `Message too big: the limit is ${this.#maxBytes} bytes.`,
      );
      return;
    }
    const started = performance.now();
    const parsed: ParseResult = typeof data === "string"
      ? parseClientMessage(data)
      : {
        ok: false,
        error: {
          code: "invalid_message",
          message: "Binary frames are not supported; send JSON as text frames.",
        },
      };
    if (!session.takeToken(started)) {
      this.#stats.rateLimited++;
      this.#error(session, {
        code: "rate_limited",
        message:
          "Too many messages: wait a moment, then send fewer per second.",
      }, parsed.ok ? parsed.message : parsed);
      return;
    }
    if (!parsed.ok) {
      this.#error(session, parsed.error, parsed);
      return;
    }
    const message = parsed.message;
    const namespace = requestedNamespace(message);
    if (namespace && !inScope(session.scope, namespace)) {
      this.#error(session, {
        code: "forbidden",
        message:
          `You may not list objects in namespace ${namespace}; ask for a namespace you have access to.`,
      }, message);
      return;
    }
    try {
      switch (message.type) {
        case "subscribe": {
          const outcome = this.#hub.subscribe(session, message.topic, {
            filter: message.filter,
            since: message.since,
          });
          this.#respond(session, message, outcome.payload);
          for (const event of outcome.replay) {
            session.replay(event);
          }
          break;
        }
        case "unsubscribe":
          this.#hub.unsubscribe(session, message.topic);
          this.#respond(session, message, {
            status: "unsubscribed",
            topic: message.topic,
          });
          break;
        case "request":
          this.#request(session, message.query, message.requestId);
          this.#stats.latency.get(message.topic)?.observe(
            (performance.now() - started) / 1000,
          );
          break;
      }
    } catch (error) {
      this.#log.error("Handling a client message failed", {
        error,
        session: session.id,
        type: message.type,
        topic: message.topic,
      });
      this.#error(session, {
        code: "internal",
        message: "The server failed to handle this message; it was logged.",
      }, message);
    }
  }

  #request(session: Session, query: Query, requestId?: string): void {
    const echo = { topic: query.topic, requestId };
    const notReady = this.#queries.notReady(query.topic);
    if (notReady !== undefined) {
      this.#error(session, { code: "not_ready", message: notReady }, echo);
      return;
    }
    const scope = session.scope;
    let payload: unknown;
    switch (query.topic) {
      case "personas":
        payload = {
          personas: this.#queries.personas(query).filter((p) =>
            inScope(scope, p.namespace)
          ),
        };
        break;
      case "deployments":
        payload = {
          deployments: this.#queries.deployments(query).filter((d) =>
            inScope(scope, d.namespace)
          ),
        };
        break;
      case "cluster": {
        const found = this.#queries.clusterPersona(query.name);
        if (!found.ok) {
          this.#error(
            session,
            { code: "not_found", message: found.reason },
            echo,
          );
          return;
        }
        payload = found.value;
        break;
      }
      case "events":
        // A log, not a state: answered from the topic's history.
        payload = {
          events: this.#hub.recent("events", {
            namespace: query.namespace,
            limit: query.limit ?? DEFAULT_EVENTS_LIMIT,
            scope,
          }),
        };
        break;
    }
    this.#respond(session, echo, payload);
  }

  #respond(
    session: Session,
    echo: { topic: Topic; requestId?: string },
    payload: unknown,
  ): void {
    // Read in the same turn as the answer, so list-then-watch has no gap.
    const position = this.#hub.position(echo.topic);
    session.reply({
      type: "response",
      topic: echo.topic,
      requestId: echo.requestId,
      payload,
      timestamp: timestamp(),
      epoch: position.epoch,
      offset: position.offset,
    });
  }

  #error(
    session: Session,
    error: ErrorPayload,
    echo: { topic?: string; requestId?: string } = {},
  ): void {
    this.#stats.errors.set(
      error.code,
      (this.#stats.errors.get(error.code) ?? 0) + 1,
    );
    session.reply({
      type: "error",
      topic: echo.topic,
      requestId: echo.requestId,
      payload: error,
      timestamp: timestamp(),
    });
  }
}

function tooBig(data: unknown, max: number): boolean {
  if (typeof data !== "string") {
    return data instanceof ArrayBuffer && data.byteLength > max;
  }
  // A UTF-16 unit is at most 3 UTF-8 bytes, so most frames skip the count.
  return data.length > max || (data.length * 3 > max && utf8Length(data) > max);
}

function requestedNamespace(message: ClientMessage): string | undefined {
  if (message.type === "subscribe") return message.filter.namespace;
  if (message.type === "request" && message.query.topic !== "cluster") {
    return message.query.namespace;
  }
  return undefined;
}
