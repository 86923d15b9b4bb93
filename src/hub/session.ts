/**
 * One connected client as the hub sees it: who it is, what it may see, and
 * the socket its messages go to. The socket owns the bounded send queue;
 * a session only says how each message may be treated when it is full.
 *
 * @module
 */
import { encodeText } from "../transport/frames.ts";
import type { Offer, Priority } from "../transport/send_queue.ts";
import type { StoredEvent } from "./history.ts";

/** Where a session's frames go. The transport's WebSocket fits. */
export interface ClientSocket {
  /**
   * Queues one encoded frame, sent at `at` (ms on the monotonic clock;
   * now if omitted); says whether it was queued.
   */
  send(frame: Uint8Array, priority: Priority, at?: number): Offer | "closed";
}

/**
 * Which namespaces a client may see. The rule itself lives with
 * authentication (server/scope.ts); the hub only asks it.
 */
export interface NamespaceGate {
  /** Whether objects in `namespace` ("" for cluster-scoped) may be shown. */
  allows(namespace: string): boolean;
}

/** Who a session belongs to. */
export interface SessionOptions {
  /** Namespaces this client may see. */
  scope: NamespaceGate;
  /** Who the client authenticated as, for logs. */
  user?: string;
}

let nextId = 1;

/**
 * A client's session. The hot path is {@link Session.deliver}: a frame
 * encoded once per event, handed to the socket's queue.
 */
export class Session {
  /** A process-unique id, for logs. */
  readonly id: number = nextId++;
  /** Namespaces this client may see. */
  readonly scope: NamespaceGate;
  /** Who the client authenticated as, if anyone. */
  readonly user: string | undefined;
  /** Events dropped for this client because its send buffer was full. */
  dropped = 0;
  /** Event and reply messages handed to the socket. */
  sent = 0;
  #socket: ClientSocket;

  /** Wraps `socket` for one client. */
  constructor(socket: ClientSocket, options: SessionOptions) {
    this.#socket = socket;
    this.scope = options.scope;
    this.user = options.user;
  }

  /**
   * Hands an event to the socket unless the client's send buffer is full.
   * `now` is the publisher's clock reading, shared by the whole fan-out.
   * Returns false when the event was dropped for this client.
   */
  deliver(event: StoredEvent, now: number): boolean {
    const offer = this.#socket.send(event.wire, "event", now);
    if (offer === "queued") {
      this.sent++;
      return true;
    }
    if (offer === "dropped") this.dropped++;
    return false;
  }

  /**
   * Hands a replayed event to the socket. Replays are never dropped: they
   * are bounded by the topic's history and share its frames, and dropping
   * one would break the resume they belong to.
   */
  replay(event: StoredEvent): void {
    if (this.#socket.send(event.wire, "replay") === "queued") this.sent++;
  }

  /**
   * Sends a reply (`response` or `error`). Replies are never dropped: a
   * client whose send buffer is full is closed with 1008 instead.
   */
  reply(message: object): void {
    const offer = this.#socket.send(
      encodeText(JSON.stringify(message)),
      "reply",
    );
    if (offer === "queued") this.sent++;
  }
}
