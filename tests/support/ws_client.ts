/**
 * A WebSocket test client on the client library (`src/client/`): sends
 * protocol messages and waits for replies and events, failing a test with a
 * clear message instead of hanging. Every frame it receives goes through
 * the library's `onFrame` check ({@link checkFrame}: the published
 * contract) before anything else, so a server frame outside the contract
 * ends the connection and fails the test that received it, at its next
 * wait or close.
 */
import { type Closed, Connection } from "../../src/client/connection.ts";
import { openSocket } from "../../src/client/websocket.ts";
import { checkFrame } from "./frame_check.ts";

/** A server message as the tests see it. */
export interface Message {
  type: string;
  topic?: string;
  requestId?: string;
  payload?: Record<string, unknown> & { code?: string; message?: string };
  timestamp?: string;
  offset?: number;
  epoch?: string;
}

let nextId = 1;

/** A connected client that records everything it receives. */
export class TestClient {
  /** Every message received, in order. */
  readonly received: Message[];
  /** Resolves when the connection closes: the close code, and why. */
  readonly closed: Promise<Closed>;
  readonly #socket: WebSocket;
  readonly #connection: Connection;
  #waiters: (() => void)[] = [];
  readonly #breach: { error?: Error };

  private constructor(
    socket: WebSocket,
    connection: Connection,
    seen: { received: Message[]; breach: { error?: Error } },
  ) {
    this.received = seen.received;
    this.#breach = seen.breach;
    this.#socket = socket;
    this.#connection = connection;
    this.closed = connection.closed.then((closed) => {
      this.#wake();
      return closed;
    });
  }

  /**
   * Connects to `url` (a `ws://` or `wss://` URL of `/ws`); `client`
   * carries the CAs to trust for `wss://`.
   */
  static async connect(
    url: string,
    options: {
      headers?: HeadersInit;
      protocols?: string[];
      client?: Deno.HttpClient;
    } = {},
  ): Promise<TestClient> {
    let socket: WebSocket | undefined;
    const received: Message[] = [];
    const breach: { error?: Error } = {};
    let wake = () => {};
    const connection = await Connection.open(
      (signal) =>
        openSocket(
          () =>
            socket = new WebSocket(url, {
              headers: options.headers,
              protocols: options.protocols,
              client: options.client,
            }),
          signal,
        ),
      {
        url,
        timeoutMs: 10_000,
        requestIdPrefix: "lib-",
        onFrame: (text) => {
          try {
            checkFrame(text);
          } catch (error) {
            // Thrown on: the library ends the connection with it.
            breach.error ??= error as Error;
            wake();
            throw error;
          }
          received.push(JSON.parse(text));
          wake();
        },
      },
    ).catch((error) => {
      throw new Error(`WebSocket failed: ${(error as Error).message}`, {
        cause: error,
      });
    });
    // The list is shared: frames that arrived before this line are kept.
    const client = new TestClient(socket!, connection, { received, breach });
    wake = () => client.#wake();
    return client;
  }

  /** The underlying socket (for what the protocol does not send: binary). */
  get socket(): WebSocket {
    return this.#socket;
  }

  /** Sends a raw string or a message object. */
  send(message: string | Record<string, unknown>): void {
    this.#connection.send(
      typeof message === "string" ? message : JSON.stringify(message),
    );
  }

  /**
   * Sends a message with a fresh requestId and resolves with the reply
   * (`response` or `error`) carrying that id.
   */
  async call(
    type: string,
    topic: string,
    payload?: unknown,
  ): Promise<Message> {
    const requestId = `t-${nextId++}`;
    this.send({
      type,
      topic,
      requestId,
      payload,
      timestamp: new Date().toISOString(),
    });
    return await this.waitFor(
      (m) => m.requestId === requestId,
      `a reply to ${type} ${topic} (${requestId})`,
    );
  }

  /** Waits for the first message (received so far or later) matching `match`. */
  async waitFor(
    match: (message: Message) => boolean,
    what: string,
    timeoutMs = 5000,
  ): Promise<Message> {
    const [found] = await this.waitForCount(match, 1, what, timeoutMs);
    return found;
  }

  /** Waits until `count` messages matching `match` have arrived. */
  async waitForCount(
    match: (message: Message) => boolean,
    count: number,
    what: string,
    timeoutMs = 5000,
  ): Promise<Message[]> {
    const deadline = Date.now() + timeoutMs;
    let closed: Closed | undefined;
    this.closed.then((c) => closed = c);
    while (true) {
      this.#throwBreach();
      const found = this.received.filter(match);
      if (found.length >= count) return found.slice(0, count);
      const left = deadline - Date.now();
      if (left <= 0) {
        throw new Error(
          `Timed out waiting for ${what}: ${found.length}/${count} arrived; last messages: ${
            JSON.stringify(this.received.slice(-3))
          }${closed ? `; the connection closed: ${closed.reason}` : ""}`,
        );
      }
      let timer: ReturnType<typeof setTimeout> | undefined;
      await new Promise<void>((resolve) => {
        this.#waiters.push(resolve);
        timer = setTimeout(resolve, left);
      });
      clearTimeout(timer);
    }
  }

  /** Events received on `topic`, in order. */
  events(topic: string): Message[] {
    return this.received.filter((m) => m.type === "event" && m.topic === topic);
  }

  /** Closes the connection and waits for the close to finish. */
  async close(): Promise<void> {
    if (this.#socket.readyState < WebSocket.CLOSING) this.#socket.close();
    await this.closed;
    this.#throwBreach();
  }

  /** Throws the first frame received that broke the contract, if any. */
  #throwBreach(): void {
    if (this.#breach.error) throw this.#breach.error;
  }

  #wake(): void {
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const wake of waiters) wake();
  }
}
