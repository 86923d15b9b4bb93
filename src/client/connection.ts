/**
 * One open connection to a dorgu-ws server: typed requests, each with a
 * `requestId` and a deadline, subscriptions, and events. Every message the
 * server sends is checked against the protocol's schemas (and an answer's
 * payload against its topic's), so a server that drifts from the contract
 * is a clear error, not a misreading.
 *
 * @module
 */
import * as v from "valibot";
// Single protocol files, not its mod.ts: the page's bundle then carries
// none of what only the server needs (the client messages' schemas).
import { describeIssues } from "../protocol/issues.ts";
import { SubscribedPayloadSchema, timestamp } from "../protocol/messages.ts";
import { LISTING_PAYLOADS } from "../protocol/payloads.ts";
import { readServerMessage } from "../protocol/receive.ts";
import type {
  EventMessage,
  Position,
  ResponseMessage,
  SubscribedPayload,
  Topic,
} from "../protocol/shapes.ts";
import { startTimer } from "../timer.ts";
import type { Channel, Dialer } from "./channel.ts";
import {
  ConnectionError,
  DorguError,
  ProtocolError,
  ServerError,
} from "./errors.ts";
import { closeMeaning } from "./close_codes.ts";
import type { QueryOf, TopicEvent, TopicResponse } from "./topics.ts";

/** Options for {@link Connection.open}. */
export interface OpenOptions {
  /** The server's URL, for messages. */
  url: string;
  /** How long to wait for the connection and for each reply, in ms; 10 s. */
  timeoutMs?: number;
  /**
   * Called with every text message received, before it is parsed. A throw
   * ends the connection with that error: a check that cannot be skipped.
   */
  onFrame?: (text: string) => void;
  /** Gives up waiting when it aborts. */
  signal?: AbortSignal;
  /** Prefix of the requestIds this connection makes; default `dorgu-ws-`. */
  requestIdPrefix?: string;
  /**
   * Turns the runtime's words for a failed connection (`detail`) into an
   * error that says what to do (the {@link Client} gives
   * `explainConnectFailure`; a browser is told nothing of why, so the page
   * leaves it out); by default the runtime's words as they are.
   */
  explain?: (url: string, detail: string, cause: unknown) => ConnectionError;
}

/** How a connection ended. */
export interface Closed {
  /** The close code (1006: it dropped without a close frame). */
  code: number;
  /** Why, in words. */
  reason: string;
  /** Whether reconnecting can help. */
  retry: boolean;
  /**
   * What calls still waiting were rejected with: the error this client
   * ended it with, or a {@link ConnectionError} saying why it closed.
   */
  error: DorguError;
}

/** Filters and a resume position for {@link Connection.subscribe}. */
export interface SubscribeOptions {
  /** Only events in this namespace. */
  namespace?: string;
  /** Only events about an object of this name. */
  name?: string;
  /** Resume after this position. */
  since?: Position;
}

/** The answer to `subscribe`, its payload typed. */
export interface SubscribedResponse extends ResponseMessage {
  /** Where the stream stands and what was replayed. */
  payload: SubscribedPayload;
}

/** An open connection; see the module doc. */
export class Connection {
  /** Called for every event, its payload checked. */
  onEvent: (message: TopicEvent) => void = () => {};
  /** Resolves when the connection ends, however it ends. */
  readonly closed: Promise<Closed>;
  readonly #channel: Channel;
  readonly #options: OpenOptions;
  // Calls awaiting their reply, by requestId.
  readonly #waiting = new Map<string, Waiting>();
  #lastId = 0;
  #error: DorguError | undefined;
  #ended = false;

  private constructor(channel: Channel, options: OpenOptions) {
    this.#channel = channel;
    this.#options = options;
    this.closed = new Promise((resolve) => {
      channel.listen({
        message: (text) => this.#receive(text),
        close: (code, reason) => resolve(this.#end(code, reason)),
      });
    });
  }

  /**
   * Opens a connection through `dial`. Rejects with a
   * {@link ConnectionError} that says what to do.
   */
  static async open(dial: Dialer, options: OpenOptions): Promise<Connection> {
    const { url, timeoutMs = TIMEOUT_MS, signal, explain } = options;
    const giveUp = new AbortController();
    const stop = () => giveUp.abort();
    const cancel = startTimer(timeoutMs, stop);
    signal?.addEventListener("abort", stop, { once: true });
    try {
      return new Connection(await dial(giveUp.signal), options);
    } catch (error) {
      throw error instanceof DorguError
        ? error
        : signal?.aborted
        ? new ConnectionError("Stopped.", { kind: "closed", retry: false })
        : giveUp.signal.aborted
        ? new ConnectionError(
          `No answer from ${url} within ${timeoutMs / 1000} s.`,
          { kind: "timeout", retry: true, cause: error },
        )
        : (explain ?? asSaid)(url, (error as Error).message ?? "", error);
    } finally {
      cancel();
      signal?.removeEventListener("abort", stop);
    }
  }

  /** Asks for topic `T`'s current state; the answer's payload is checked. */
  request<T extends Topic>(
    topic: T,
    query: QueryOf<T> = {},
  ): Promise<TopicResponse<T>> {
    return this.#call(
      "request",
      topic,
      query,
      LISTING_PAYLOADS[topic],
    ) as never;
  }

  /** Subscribes to `topic` (again: replaces its filter). */
  subscribe(
    topic: Topic,
    options: SubscribeOptions = {},
  ): Promise<SubscribedResponse> {
    return this.#call(
      "subscribe",
      topic,
      options,
      SubscribedPayloadSchema,
    ) as never;
  }

  /** Ends the subscription to `topic`; idempotent. */
  unsubscribe(topic: Topic): Promise<ResponseMessage> {
    return this.#call("unsubscribe", topic);
  }

  // Sends `type` on `topic` with a fresh requestId; the reply's payload is
  // checked against `schema`. A reply that does not come in time closes
  // the connection: a server that does not answer is not kept.
  #call(
    type: "subscribe" | "unsubscribe" | "request",
    topic: Topic,
    payload?: unknown,
    schema?: v.GenericSchema,
  ): Promise<ResponseMessage> {
    const { url, timeoutMs = TIMEOUT_MS, requestIdPrefix = "dorgu-ws-" } =
      this.#options;
    const requestId = `${requestIdPrefix}${++this.#lastId}`;
    const reply = new Promise<ResponseMessage>((resolve, reject) => {
      const cancel = startTimer(timeoutMs, () => {
        this.#take(requestId)?.settle(
          new ConnectionError(
            `No reply from ${url} to ${type} ${topic} within ${
              timeoutMs / 1000
            } s.`,
            { kind: "timeout", retry: true },
          ),
        );
        this.close();
      });
      this.#waiting.set(requestId, {
        schema,
        settle: (answer) => {
          cancel();
          if (answer instanceof DorguError) reject(answer);
          else resolve(answer);
        },
      });
    });
    try {
      this.send(JSON.stringify({
        type,
        topic,
        requestId,
        payload,
        timestamp: timestamp(),
      }));
    } catch (error) {
      this.#take(requestId)?.settle(
        new ConnectionError(
          `Cannot send to ${url}: ${(error as Error).message}.`,
          { kind: "closed", retry: true, cause: error },
        ),
      );
    }
    return reply;
  }

  #take(requestId = ""): Waiting | undefined {
    const waiting = this.#waiting.get(requestId);
    this.#waiting.delete(requestId);
    return waiting;
  }

  #settleAll(error: DorguError): void {
    for (const waiting of this.#waiting.values()) waiting.settle(error);
    this.#waiting.clear();
  }

  /** Sends one text message as it is (it gets no requestId). */
  send(text: string): void {
    this.#channel.send(text);
  }

  /** Closes the connection. */
  close(code = 1000, reason = ""): void {
    if (!this.#ended) this.#channel.close(code, reason);
  }

  #receive(text: string): void {
    if (this.#error) return;
    let read;
    try {
      this.#options.onFrame?.(text);
      read = readServerMessage(text);
    } catch (error) {
      read = { ok: false, reason: (error as Error).message } as const;
    }
    if (!read.ok) return this.#fail(new ProtocolError(read.reason));
    const message = read.message;
    if (message.type === "event") return this.onEvent(message as TopicEvent);
    const waiting = this.#take(message.requestId);
    if (!waiting) return;
    if (message.type === "error") {
      return waiting.settle(new ServerError(message.payload));
    }
    const checked = waiting.schema &&
      v.safeParse(waiting.schema, message.payload);
    if (checked && !checked.success) {
      const error = new ProtocolError(
        describeIssues(checked.issues, "payload"),
      );
      waiting.settle(error);
      return this.#fail(error);
    }
    waiting.settle(message);
  }

  // A message that breaks the contract ends the connection with the
  // reason (and fails every call waiting), rather than being used
  // half-understood.
  #fail(error: DorguError): void {
    this.#error ??= error;
    this.#settleAll(error);
    this.close();
  }

  #end(code: number, reason: string): Closed {
    this.#ended = true;
    const error = this.#error;
    const closed = error
      ? { reason: error.message, retry: false }
      : closeMeaning(code, reason);
    const ended = error ?? new ConnectionError(
      `The connection to ${this.#options.url} closed: ${closed.reason}.`,
      { kind: "closed", retry: closed.retry },
    );
    this.#settleAll(ended);
    return { code, ...closed, error: ended };
  }
}

const TIMEOUT_MS = 10_000;

// A call awaiting its reply: the schema its payload must match, and how
// it ends (the reply, or the error that took its place).
interface Waiting {
  schema?: v.GenericSchema;
  settle(answer: ResponseMessage | DorguError): void;
}

function asSaid(url: string, detail: string, cause: unknown): ConnectionError {
  return new ConnectionError(`Cannot connect to ${url}: ${detail}.`, {
    kind: "other",
    retry: true,
    cause,
  });
}

/** An event message, typed by its topic. */
export type { EventMessage };
