/**
 * The page's WebSocket to dorgu-ws: open it (with the token as the browser
 * subprotocol), send a message and await its reply by requestId, receive
 * events. Every server message is checked against the protocol schemas,
 * as the CLI checks them, so a server that drifts from the contract is a
 * clear error on the page rather than a half-drawn picture.
 *
 * @module
 */
import * as v from "valibot";
import {
  describeIssues,
  type ErrorPayload,
  type EventMessage,
  LISTING_PAYLOADS,
  PendingCalls,
  readServerMessage,
  type ResponseMessage,
  SubscribedPayloadSchema,
  timestamp,
  type Topic,
} from "../protocol/mod.ts";

/** The subprotocol the server picks; the token rides beside it. */
const SUBPROTOCOL = "dorgu-ws";

/** An `error` reply. */
export class Refused extends Error {
  /** The protocol error code. */
  readonly code: ErrorPayload["code"];

  /** Creates the error from the reply's payload. */
  constructor(payload: ErrorPayload) {
    super(payload.message);
    this.code = payload.code;
  }
}

/** How a link ended. */
export interface Ended {
  /** The close code (1006: the connection dropped or was never made). */
  code: number;
  /** Why, in words. */
  reason: string;
}

/** The `Sec-WebSocket-Protocol` entries carrying `token`. */
export function subprotocols(token: string | undefined): string[] {
  if (token === undefined) return [SUBPROTOCOL];
  const bytes = new TextEncoder().encode(token);
  const base64 = btoa(String.fromCharCode(...bytes)).replaceAll("+", "-")
    .replaceAll("/", "_").replaceAll("=", "");
  return [SUBPROTOCOL, `bearer.${base64}`];
}

/** An open WebSocket to dorgu-ws. */
export class Link {
  /** Called with every event. */
  onEvent: (message: EventMessage) => void = () => {};
  /** Resolves when the link ends, however it ends. */
  readonly ended: Promise<Ended>;
  readonly #socket: WebSocket;
  readonly #timeoutMs: number;
  readonly #pending: PendingCalls<v.GenericSchema>;
  #misunderstood: string | undefined;

  private constructor(socket: WebSocket, timeoutMs: number) {
    this.#socket = socket;
    this.#timeoutMs = timeoutMs;
    this.#pending = new PendingCalls({ prefix: "dash-", timeoutMs });
    this.ended = new Promise((resolve) => {
      socket.addEventListener("close", (event) => {
        const reason = this.#misunderstood ?? closeReason(event);
        this.#pending.rejectAll(new Error(`The connection closed: ${reason}.`));
        resolve({ code: event.code, reason });
      });
    });
    socket.addEventListener("message", (event) => this.#receive(event.data));
  }

  /**
   * Opens a link to `url`. Rejects when the socket does not open; a browser
   * is told nothing of why (a refused token looks like a dropped line), so
   * the caller asks the server separately.
   */
  static open(
    url: string,
    options: { token?: string; timeoutMs: number },
  ): Promise<Link> {
    return new Promise((resolve, reject) => {
      let socket: WebSocket;
      try {
        socket = new WebSocket(url, subprotocols(options.token));
      } catch (error) {
        reject(error);
        return;
      }
      const timer = setTimeout(() => {
        socket.close();
        reject(new Error(`No answer within ${options.timeoutMs / 1000} s.`));
      }, options.timeoutMs);
      const failed = () => {
        clearTimeout(timer);
        reject(new Error("The server did not accept the connection."));
      };
      socket.addEventListener("close", failed);
      socket.addEventListener("open", () => {
        clearTimeout(timer);
        socket.removeEventListener("close", failed);
        resolve(new Link(socket, options.timeoutMs));
      }, { once: true });
    });
  }

  /**
   * Sends `type` on `topic`; resolves with the `response` (its payload
   * checked), rejects with {@link Refused} on an `error` reply.
   */
  call(
    type: "request" | "subscribe",
    topic: Topic,
    payload: Record<string, unknown> = {},
  ): Promise<ResponseMessage> {
    const schema = type === "subscribe"
      ? SubscribedPayloadSchema
      : LISTING_PAYLOADS[topic];
    const { requestId, reply } = this.#pending.start(schema, () => {
      // A server that does not answer is not worth keeping the link to.
      this.close();
      return new Error(
        `No reply to ${type} ${topic} within ${this.#timeoutMs / 1000} s.`,
      );
    });
    this.#socket.send(JSON.stringify({
      type,
      topic,
      requestId,
      payload,
      timestamp: timestamp(),
    }));
    return reply;
  }

  /** Closes the link. */
  close(): void {
    this.#socket.close(1000);
  }

  #receive(data: unknown): void {
    const read = readServerMessage(data);
    if (!read.ok) {
      this.#fail(read.reason);
      return;
    }
    const received = read.message;
    if (received.type === "event") {
      this.onEvent(received);
      return;
    }
    const waiting = this.#pending.take(received.requestId);
    if (!waiting) return;
    if (received.type === "error") {
      waiting.reject(new Refused(received.payload));
      return;
    }
    const payload = v.safeParse(waiting.extra, received.payload);
    if (!payload.success) {
      this.#fail(describeIssues(payload.issues, "payload"));
      return;
    }
    waiting.resolve(received);
  }

  // A message that breaks the contract ends the link with the reason.
  #fail(reason: string): void {
    this.#misunderstood ??=
      `the server sent a message this page does not understand (${reason}); reload the page after an upgrade`;
    this.#socket.close(1000);
  }
}

function closeReason(event: CloseEvent): string {
  if (event.code === 1001) return "the server is going away";
  if (event.code === 1008) return `the server closed it (${event.reason})`;
  if (event.code === 1006) return "the connection dropped";
  return event.reason || `close code ${event.code}`;
}
