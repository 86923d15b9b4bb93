/**
 * A WebSocket test client on Deno's own `WebSocket`: sends protocol
 * messages and waits for replies and events, failing a test with a clear
 * message instead of hanging. Every frame it receives is checked against
 * the published contract (support/contract.ts); a frame that breaks it
 * fails the next wait or close, since an error thrown in `onmessage`
 * would not reach the test.
 */
import { checkServerFrame } from "./contract.ts";

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
  readonly received: Message[] = [];
  /** Resolves when the socket closes. */
  readonly closed: Promise<CloseEvent>;
  readonly #socket: WebSocket;
  #waiters: (() => void)[] = [];
  #breach?: Error;

  private constructor(socket: WebSocket) {
    this.#socket = socket;
    socket.onmessage = (event) => {
      try {
        checkServerFrame(event.data as string);
        this.received.push(JSON.parse(event.data as string));
      } catch (error) {
        this.#breach ??= error as Error;
      }
      this.#wake();
    };
    this.closed = new Promise((resolve) => {
      socket.addEventListener("close", (event) => {
        this.#wake();
        resolve(event);
      });
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
    const socket = new WebSocket(url, {
      headers: options.headers,
      protocols: options.protocols,
      client: options.client,
    });
    const client = new TestClient(socket);
    await new Promise<void>((resolve, reject) => {
      socket.onopen = () => resolve();
      socket.onerror = (event) =>
        reject(new Error(`WebSocket failed: ${(event as ErrorEvent).message}`));
    });
    return client;
  }

  /** The underlying socket. */
  get socket(): WebSocket {
    return this.#socket;
  }

  /** Sends a raw string or a message object. */
  send(message: string | Record<string, unknown>): void {
    this.#socket.send(
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
    while (true) {
      this.#throwBreach();
      const found = this.received.filter(match);
      if (found.length >= count) return found.slice(0, count);
      const left = deadline - Date.now();
      if (left <= 0) {
        throw new Error(
          `Timed out waiting for ${what}: ${found.length}/${count} arrived; last messages: ${
            JSON.stringify(this.received.slice(-3))
          }`,
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
    if (this.#breach) throw this.#breach;
  }

  #wake(): void {
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const wake of waiters) wake();
  }
}
