/**
 * The client's connection to a dorgu-ws server: connect with a timeout,
 * send a message and await its reply by requestId, receive events. Every
 * server message is validated against the protocol schemas, so a server
 * that drifts from the contract is an error here, not a silent misreading.
 */
import {
  type ErrorPayload,
  type EventMessage,
  PendingCalls,
  readServerMessage,
  type ResponseMessage,
  timestamp,
  type Topic,
} from "../protocol/mod.ts";
import { type CancelTimer, startTimer } from "../timer.ts";
import { channelSocket, type Dialer } from "./channel_socket.ts";
import { ClientError } from "./errors.ts";

/** An `error` reply from the server. */
export class ServerError extends ClientError {
  /** The protocol error code. */
  readonly code: ErrorPayload["code"];

  /** Creates the error from the reply's payload. */
  constructor(payload: ErrorPayload) {
    super(payload.message);
    this.name = "ServerError";
    this.code = payload.code;
  }
}

/** How a `wss://` server's certificate is checked. */
export interface TlsOptions {
  /** PEM certificates of the CAs to trust besides the system's. */
  caCerts?: string[];
  /** Do not check the certificate at all (a lab server). */
  insecure?: boolean;
}

/** Options for {@link Connection.open}. */
export interface ConnectOptions {
  /** Bearer token for servers run with `--auth token`. */
  token?: string;
  /** How long to wait for the connection and for each reply, in ms. */
  timeoutMs: number;
  /** How to check a `wss://` server's certificate. */
  tls?: TlsOptions;
  /** Opens the connection instead of a WebSocket to the URL (laptop mode). */
  dial?: Dialer;
}

/**
 * What a connection uses of a WebSocket: the runtime's, or for
 * `--insecure-skip-tls-verify` that of the `ws` package, which (on
 * `node:tls`) is the one way to skip verification in a running process.
 */
interface Socket {
  onopen: ((event: Event) => void) | null;
  onerror: ((event: Event) => void) | null;
  addEventListener(
    type: "close",
    listener: (event: { code: number; reason: string }) => void,
  ): void;
  addEventListener(
    type: "message",
    listener: (event: { data: unknown }) => void,
  ): void;
  send(data: string): void;
  close(code?: number): void;
}

async function createSocket(
  url: string,
  options: ConnectOptions,
): Promise<{ socket: Socket; client?: Deno.HttpClient }> {
  const headers = options.token
    ? { authorization: `Bearer ${options.token}` }
    : undefined;
  const tls = url.startsWith("wss:") ? options.tls : undefined;
  if (tls?.insecure) {
    // Loaded only here: the package and Node's TLS cost start-up time.
    const { default: NodeWebSocket } = await import("ws");
    const socket = new NodeWebSocket(url, {
      headers,
      rejectUnauthorized: false,
    });
    return { socket: socket as unknown as Socket };
  }
  const client = tls?.caCerts?.length
    ? Deno.createHttpClient({ caCerts: tls.caCerts })
    : undefined;
  try {
    return { socket: new WebSocket(url, { headers, client }), client };
  } catch (error) {
    client?.close();
    throw error;
  }
}

/** An open connection. */
export class Connection {
  /** Called for every event message. */
  onEvent: (message: EventMessage) => void = () => {};
  /** Called when the server sends something that breaks the protocol. */
  onMisunderstood: (error: ClientError) => void = () => {};
  /** Resolves with a reason when the connection ends. */
  readonly closed: Promise<string>;
  readonly #socket: Socket;
  readonly #url: string;
  readonly #timeoutMs: number;
  readonly #pending: PendingCalls;

  private constructor(
    socket: Socket,
    options: { url: string; timeoutMs: number; client?: Deno.HttpClient },
  ) {
    const { url, client } = options;
    this.#socket = socket;
    this.#url = url;
    this.#timeoutMs = options.timeoutMs;
    this.#pending = new PendingCalls({
      prefix: "dorgu-ws-",
      timeoutMs: options.timeoutMs,
    });
    this.closed = new Promise((resolve) => {
      socket.addEventListener("close", (event) => {
        client?.close();
        const reason = closeReason(event);
        this.#pending.rejectAll(
          new ClientError(`The connection to ${url} closed: ${reason}.`),
        );
        resolve(reason);
      });
    });
    socket.addEventListener("message", (event) => this.#receive(event.data));
  }

  /** Connects to `url`; throws {@link ClientError} with a clear reason. */
  static async open(url: string, options: ConnectOptions): Promise<Connection> {
    if (options.dial) {
      const socket: Socket = channelSocket(await options.dial());
      return new Connection(socket, { url, timeoutMs: options.timeoutMs });
    }
    let socket: Socket;
    let client: Deno.HttpClient | undefined;
    try {
      ({ socket, client } = await createSocket(url, options));
    } catch (error) {
      throw new ClientError(
        `${url} is not a WebSocket URL (${
          (error as Error).message
        }); use ws://host:port/ws or wss://...`,
        2,
      );
    }
    let cancel: CancelTimer | undefined;
    try {
      await new Promise<void>((resolve, reject) => {
        cancel = startTimer(
          options.timeoutMs,
          () =>
            reject(
              new ClientError(
                `No answer from ${url} within ${options.timeoutMs / 1000} s.`,
              ),
            ),
        );
        socket.onopen = () => resolve();
        socket.onerror = (event) =>
          reject(
            new ClientError(
              connectFailure(
                url,
                (event as ErrorEvent).message,
                !!options.token,
              ),
            ),
          );
      });
    } catch (error) {
      socket.onerror = null;
      try {
        socket.close();
      } catch {
        // Never opened.
      }
      client?.close();
      throw error;
    } finally {
      cancel?.();
    }
    socket.onerror = null;
    return new Connection(socket, {
      url,
      timeoutMs: options.timeoutMs,
      client,
    });
  }

  /**
   * Sends `type` on `topic` and resolves with the `response`; an `error`
   * reply rejects with {@link ServerError}, no reply in time with
   * {@link ClientError}.
   */
  call(
    type: string,
    topic: Topic,
    payload?: unknown,
  ): Promise<ResponseMessage> {
    const { requestId, reply } = this.#pending.start(
      undefined,
      () =>
        new ClientError(
          `No reply from ${this.#url} to ${type} ${topic} within ${
            this.#timeoutMs / 1000
          } s.`,
        ),
    );
    try {
      this.#socket.send(JSON.stringify({
        type,
        topic,
        requestId,
        payload,
        timestamp: timestamp(),
      }));
    } catch (error) {
      this.#pending.take(requestId)?.reject(error as Error);
    }
    return reply;
  }

  /** Closes the connection. */
  close(): void {
    try {
      this.#socket.close(1000);
    } catch {
      // Already closed.
    }
  }

  // A message that breaks the contract ends the connection with a clear
  // error rather than being shown half-understood.
  #misunderstood(reason: string): void {
    const error = new ClientError(
      `The server sent a message this client does not understand (${reason}); are client and server the same version?`,
    );
    this.#pending.rejectAll(error);
    this.onMisunderstood(error);
    this.close();
  }

  #receive(data: unknown): void {
    const read = readServerMessage(data);
    if (!read.ok) {
      this.#misunderstood(read.reason);
      return;
    }
    const message = read.message;
    if (message.type === "event") {
      this.onEvent(message);
      return;
    }
    const waiting = this.#pending.take(message.requestId);
    if (!waiting) return;
    if (message.type === "error") {
      waiting.reject(new ServerError(message.payload));
    } else waiting.resolve(message);
  }
}

function connectFailure(
  url: string,
  detail: string,
  sentToken: boolean,
): string {
  const status = /(?:status code:?|server response:) (\d{3})/i.exec(detail)
    ?.[1];
  switch (status) {
    case "401":
      return sentToken
        ? `${url} refused the token (HTTP 401); check --token, DORGU_WS_TOKEN or the config file's token.`
        : `${url} requires a token (HTTP 401); pass --token or set DORGU_WS_TOKEN.`;
    case "403":
      return `${url} refused the connection (HTTP 403).`;
    case "404":
      return new URL(url).pathname.endsWith("/ws")
        ? `${url} answered HTTP 404: something in front of dorgu-ws (a proxy, an ingress, another service on that port) does not route this path to it; check the URL's host, port and path prefix.`
        : `${url} is not a dorgu-ws WebSocket endpoint (HTTP 404); the path is /ws, as in ws://localhost:9090/ws.`;
    case "503":
      return `${url} is busy or shutting down (HTTP 503); try again shortly.`;
    case undefined:
      break;
    default:
      return `${url} refused the WebSocket upgrade (HTTP ${status}).`;
  }
  if (/tcp connect|connection refused/i.test(detail)) {
    return `Cannot connect to ${url}: connection refused. Is dorgu-ws running there? (In a cluster: kubectl -n NAMESPACE port-forward svc/dorgu-ws 9090, with the namespace dorgu-ws runs in.)`;
  }
  if (/dns/i.test(detail)) {
    return `Cannot connect to ${url}: its host name does not resolve.`;
  }
  if (/InvalidContentType|corrupt message|wrong version number/i.test(detail)) {
    return `Cannot connect to ${url}: the server does not speak TLS there; use ${
      url.replace(/^wss:/, "ws:")
    } for a server without TLS.`;
  }
  if (/UnknownIssuer|self.signed|unable to get local issuer/i.test(detail)) {
    return `Cannot connect to ${url}: its TLS certificate is signed by a CA this client does not trust; pass --ca-file with that CA's certificate (or set ca-file for the server in the config file), or --insecure-skip-tls-verify for a lab server.`;
  }
  if (/NotValidForName/i.test(detail)) {
    return `Cannot connect to ${url}: its TLS certificate is not valid for ${
      new URL(url).hostname
    }; connect by a name the certificate lists.`;
  }
  if (/expired/i.test(detail)) {
    return `Cannot connect to ${url}: its TLS certificate has expired; the server needs a renewed one.`;
  }
  if (/certificate/i.test(detail)) {
    return `Cannot connect to ${url}: its TLS certificate is not trusted (${
      detail.replace(/^.*?: (?=[^:]*certificate)/i, "")
    }).`;
  }
  return `Cannot connect to ${url}: ${
    detail.replace(/^NetworkError: (failed to connect to WebSocket: )?/, "")
  }.`;
}

function closeReason(event: { code: number; reason: string }): string {
  if (event.code === 1001) return "the server is going away (1001)";
  if (event.code === 1008) return `the server closed it (1008 ${event.reason})`;
  if (event.code === 1009) return "a message was too big (1009)";
  if (event.code === 1000) return "closed (1000)";
  return event.reason
    ? `${event.reason} (${event.code})`
    : `code ${event.code}`;
}
