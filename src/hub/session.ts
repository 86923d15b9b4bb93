/**
 * One connected client: its subscriptions and its share of the socket.
 *
 * Deno's WebSocket queues every `send` without limit and reports only the
 * bytes still unwritten (`bufferedAmount`). To give each client the seed's
 * 256-message send buffer, the session remembers the byte length of every
 * message it handed over that may still be unwritten; because frames are
 * written in order, comparing the newest lengths with `bufferedAmount` tells
 * exactly how many messages the client has not yet taken.
 */
import type { Topic } from "../protocol/mod.ts";

/** The part of a WebSocket a session needs. Deno's `WebSocket` fits. */
export interface ClientSocket {
  /** Queues one text frame. */
  send(data: string): void;
  /** Bytes queued but not yet written to the connection. */
  readonly bufferedAmount: number;
  /** Starts the closing handshake. */
  close(code?: number, reason?: string): void;
}

/**
 * Whether a client limited to `scope` (`null`: unlimited) may see objects
 * in `namespace`. Cluster-scoped objects (namespace "") are seen by all.
 */
export function inScope(
  scope: ReadonlySet<string> | null,
  namespace: string,
): boolean {
  return scope === null || namespace === "" || scope.has(namespace);
}

/** A serialized message and its UTF-8 size, as events are kept. */
export interface OutboundFrame {
  /** The message, serialized. */
  readonly frame: string;
  /** UTF-8 length of `frame`. */
  readonly bytes: number;
}

/** What a subscription lets through: filters and the client's namespace scope. */
export interface Subscription {
  /** The session that receives the events. */
  readonly session: Session;
  /** Only events in this namespace, if set. */
  readonly namespace: string | undefined;
  /** Only events about this object, if set. */
  readonly name: string | undefined;
}

/** Why the server closed a session. */
export type CloseCause =
  | "write_timeout"
  | "send_buffer_full"
  | "message_too_big"
  | "shutdown";

/** The close code and default reason the server uses for each cause. */
export const CLOSE_FRAMES: Readonly<
  Record<CloseCause, { code: number; reason: string }>
> = {
  write_timeout: {
    code: 1008,
    reason: "Write timeout: the client stopped reading.",
  },
  send_buffer_full: {
    code: 1008,
    reason: "Send buffer full: read your messages.",
  },
  message_too_big: { code: 1009, reason: "Message too big." },
  shutdown: { code: 1001, reason: "The server is shutting down." },
};

/**
 * How long a message may wait for its first chance to be written before it
 * counts as left unread. Deno writes only once the event loop runs again,
 * so messages queued in one burst (a relist, or replies to pipelined
 * requests) must not be held against a client that reads promptly.
 */
export const WRITE_GRACE_MS = 100;

/** However recent, a client never has more than this many buffers' worth queued. */
export const HARD_LIMIT_FACTOR = 8;

/**
 * What every session of a server shares: limits and callbacks. One object
 * for all of them keeps each session small (a server holds tens of
 * thousands).
 */
export interface SessionPolicy {
  /** Messages a client may leave unread before events are dropped for it. */
  sendBuffer: number;
  /** Inbound messages allowed per second, on average. */
  rateLimit: number;
  /** Inbound messages allowed in one burst. */
  rateBurst: number;
  /** Called once when the server closes a session. */
  onClose?: (session: Session, cause: CloseCause) => void;
  /** Milliseconds on a monotonic clock; `performance.now` by default. */
  clock?: () => number;
}

/** Who a session belongs to. */
export interface SessionOptions {
  /** Namespaces this client may see; `null` for all. */
  scope?: ReadonlySet<string> | null;
  /** Who the client authenticated as, for logs. */
  user?: string;
}

function monotonicNow(): number {
  return performance.now();
}

let nextId = 1;

// Shared by every session that has nothing in flight; replaced before the
// first push, so it is never written to.
const NOTHING_SENT: number[] = [];

/**
 * A client's session. The hot path is {@link Session.deliver}: one check of
 * a counter, then the socket's `send`, so fan-out costs about what a bare
 * broadcast loop costs.
 */
export class Session {
  /** A process-unique id, for logs. */
  readonly id: number = nextId++;
  /** The client's subscriptions by topic. */
  readonly subscriptions: Partial<Record<Topic, Subscription>> = {};
  /** Namespaces this client may see; `null` for all. */
  readonly scope: ReadonlySet<string> | null;
  /** Who the client authenticated as, if anyone. */
  readonly user: string | undefined;
  /** Events dropped for this client because its send buffer was full. */
  dropped = 0;

  #socket: ClientSocket;
  #policy: SessionPolicy;
  #limit: number;
  #clock: () => number;
  #closed = false;
  // Byte lengths and send times of messages that may be unwritten, oldest
  // first from #head. Replayed messages are stored negated: they do not
  // count against the limit (a resume may replay more than it holds).
  #lengths: number[] = NOTHING_SENT;
  #times: number[] = NOTHING_SENT;
  #head = 0;
  #windowBytes = 0;
  #exempt = 0;
  #bytesSent = 0;
  #bytesDrained = 0;
  #progressAt = 0;
  #tokens: number;
  #refillAt: number;

  /** Wraps `socket` for one client under `policy`. */
  constructor(
    socket: ClientSocket,
    policy: SessionPolicy,
    options: SessionOptions = {},
  ) {
    this.#socket = socket;
    this.#policy = policy;
    this.#limit = policy.sendBuffer;
    this.#clock = policy.clock ?? monotonicNow;
    this.scope = options.scope ?? null;
    this.user = options.user;
    this.#tokens = policy.rateBurst;
    this.#refillAt = this.#clock();
    this.#progressAt = this.#refillAt;
  }

  /** Whether the server has closed this session. */
  get closed(): boolean {
    return this.#closed;
  }

  /** Messages handed to the socket that the client has not yet taken. */
  get unread(): number {
    return this.#settle();
  }

  /**
   * Hands an event frame to the socket unless the client's send buffer is
   * full. `now` is the publisher's clock reading, shared by the whole
   * fan-out. Returns false when the event was dropped for this client.
   */
  deliver(message: OutboundFrame, now: number): boolean {
    if (this.#closed) return false;
    if (this.#full(now)) {
      this.dropped++;
      return false;
    }
    this.#push(message.frame, message.bytes, now);
    return true;
  }

  /**
   * Hands a replayed event frame to the socket. Replays bypass the limit:
   * they are bounded by the topic's history, and dropping one would make
   * the resume it belongs to fail.
   */
  replay(message: OutboundFrame): void {
    if (this.#closed) return;
    this.#push(message.frame, message.bytes, this.#clock());
    this.#lengths[this.#lengths.length - 1] = -message.bytes;
    this.#exempt++;
  }

  /**
   * Sends a reply (`response` or `error`). Replies are never dropped: a
   * client that has let its send buffer fill is closed with 1008 instead.
   */
  reply(message: object): void {
    if (this.#closed) return;
    const now = this.#clock();
    if (this.#full(now)) {
      this.close("send_buffer_full");
      return;
    }
    const frame = JSON.stringify(message);
    this.#push(frame, utf8Length(frame), now);
  }

  /** Spends one inbound-message token; false when the client is over its rate. */
  takeToken(now: number): boolean {
    const elapsed = (now - this.#refillAt) / 1000;
    this.#refillAt = now;
    this.#tokens = Math.min(
      this.#policy.rateBurst,
      this.#tokens + elapsed * this.#policy.rateLimit,
    );
    if (this.#tokens < 1) return false;
    this.#tokens--;
    return true;
  }

  /**
   * Checks that the client is draining what was sent to it. Returns false,
   * after closing the session, when bytes have waited longer than
   * `writeTimeoutMs` without any being written.
   */
  checkWrites(now: number, writeTimeoutMs: number): boolean {
    if (this.#closed) return true;
    if (this.#lengths.length === this.#head) {
      this.#progressAt = now;
      return true;
    }
    this.#settle();
    const buffered = this.#lengths.length === this.#head
      ? 0
      : this.#socket.bufferedAmount;
    const drained = this.#bytesSent - buffered;
    if (buffered === 0 || drained > this.#bytesDrained) {
      this.#bytesDrained = drained;
      this.#progressAt = now;
      return true;
    }
    if (now - this.#progressAt < writeTimeoutMs) return true;
    this.close("write_timeout");
    return false;
  }

  /**
   * Closes the session from the server side. Idempotent. Deno cannot abort
   * a connection whose peer stopped reading, so the close frame may wait
   * behind unread data; the session is forgotten at once either way.
   * `reason` replaces the cause's default close reason.
   */
  close(cause: CloseCause, reason?: string): void {
    if (this.#closed) return;
    this.#closed = true;
    const frame = CLOSE_FRAMES[cause];
    try {
      this.#socket.close(frame.code, reason ?? frame.reason);
    } catch {
      // Already closing or closed: nothing more to do.
    }
    this.#policy.onClose?.(this, cause);
  }

  /** Marks the session closed after the client went away. Idempotent. */
  detach(): void {
    this.#closed = true;
  }

  #push(frame: string, bytes: number, now: number): void {
    this.#socket.send(frame);
    if (this.#lengths === NOTHING_SENT) {
      this.#lengths = [];
      this.#times = [];
    }
    this.#lengths.push(bytes);
    this.#times.push(now);
    this.#windowBytes += bytes;
    this.#bytesSent += bytes;
  }

  // Whether the client has let its buffer fill: `limit` messages it has had
  // time to take are still unread, or far more than that are queued at all.
  #full(now: number): boolean {
    // Cheap check first: the window is far below the limit almost always.
    if (this.#lengths.length - this.#head - this.#exempt < this.#limit) {
      return false;
    }
    const unread = this.#settle() - this.#exempt;
    if (unread < this.#limit) return false;
    if (unread >= this.#limit * HARD_LIMIT_FACTOR) return true;
    const cutoff = now - WRITE_GRACE_MS;
    let stale = 0;
    for (
      let i = this.#head;
      i < this.#lengths.length && this.#times[i] <= cutoff;
      i++
    ) {
      if (this.#lengths[i] > 0) stale++;
    }
    return stale >= this.#limit;
  }

  // Forgets messages the socket has fully written; returns how many remain.
  #settle(): number {
    const lengths = this.#lengths;
    if (lengths.length === this.#head) return 0;
    const buffered = this.#socket.bufferedAmount;
    if (buffered === 0) {
      this.#lengths = NOTHING_SENT;
      this.#times = NOTHING_SENT;
      this.#head = 0;
      this.#windowBytes = 0;
      this.#exempt = 0;
      return 0;
    }
    while (this.#head < lengths.length) {
      const length = lengths[this.#head];
      const size = length < 0 ? -length : length;
      if (this.#windowBytes - size < buffered) break;
      this.#windowBytes -= size;
      if (length < 0) this.#exempt--;
      this.#head++;
    }
    if (this.#head > 64 && this.#head * 2 > lengths.length) {
      this.#lengths = lengths.slice(this.#head);
      this.#times = this.#times.slice(this.#head);
      this.#head = 0;
    }
    return this.#lengths.length - this.#head;
  }
}

/** The UTF-8 length of `text`, which is what `bufferedAmount` counts. */
export function utf8Length(text: string): number {
  let bytes = text.length;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code < 0x80) continue;
    if (code < 0x800) {
      bytes += 1;
    } else if (code >= 0xd800 && code <= 0xdbff && i + 1 < text.length) {
      // A surrogate pair: two UTF-16 units, four UTF-8 bytes.
      bytes += 2;
      i++;
    } else {
      bytes += 2;
    }
  }
  return bytes;
}
