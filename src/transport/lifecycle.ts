/**
 * The life of one WebSocket connection, as one state machine. Every
 * transition is a method here, and each says what the connection must do
 * about it through {@link LifecycleEffects}; the close information travels
 * in the state, so nothing needs a cast or a second flag to find it.
 *
 * ```
 *            hold / release
 *           +-------------+
 *           v             |
 *         open -----------+
 *           |  \
 *     close |   \ lose / abort
 *           v    \
 *        closing --> closed
 *   (closeSent, echo, expire, lose, abort)
 * ```
 *
 * - `open`: messages flow both ways. While replies pile up for a client,
 *   its data frames are `held` (control frames are still read).
 * - `closing`: our close frame is queued (`sent` false) or out. Nothing is
 *   sent after it; the connection ends when the peer's close arrives, its
 *   stream ends, or the deadline passes. When the peer closed first (or
 *   the descriptor is needed at once) no echo is awaited: it ends as soon
 *   as our frame is out.
 * - `closed`: the socket is closed and released.
 *
 * The owner is told how the connection ended exactly once: when it leaves
 * `open`.
 *
 * @module
 */
import type { CloseCause, CloseInfo } from "./close.ts";

/** Where a connection is in its life. */
export type Phase =
  | OpenPhase
  | ClosingPhase
  | ClosedPhase;

/** Messages flow both ways. */
export interface OpenPhase {
  /** The phase. */
  readonly name: "open";
  /**
   * While set, data frames wait for this promise (replies are piling up
   * for the client); control frames are read all the same.
   */
  readonly held: Promise<void> | undefined;
}

/** Our close frame is queued or out; the peer's is awaited. */
export interface ClosingPhase {
  /** The phase. */
  readonly name: "closing";
  /** What the owner was told. */
  readonly info: CloseInfo;
  /** Whether the peer's close frame is still awaited once ours is out. */
  readonly awaitEcho: boolean;
  /** When the connection is cut if the handshake has not finished (ms). */
  readonly deadline: number;
  /** Whether our close frame has been handed to the socket. */
  readonly sent: boolean;
}

/** The socket is closed. */
export interface ClosedPhase {
  /** The phase. */
  readonly name: "closed";
  /** How it ended. */
  readonly info: CloseInfo;
}

/** What the connection does when its lifecycle moves. */
export interface LifecycleEffects {
  /** The owner hears how the connection ended (once, on leaving `open`). */
  told(info: CloseInfo): void;
  /** Our close frame is out and the peer's is awaited: end our stream. */
  shutWrite(): void;
  /** Stop reading and writing, close the socket, release it. */
  ended(info: CloseInfo): void;
}

const OPEN: OpenPhase = { name: "open", held: undefined };

/** The state machine of one connection. */
export class Lifecycle {
  #phase: Phase = OPEN;
  #effects: LifecycleEffects;
  #resume: (() => void) | undefined;

  /** Starts `open`. */
  constructor(effects: LifecycleEffects) {
    this.#effects = effects;
  }

  /** The current phase. */
  get phase(): Phase {
    return this.#phase;
  }

  /** Data frames wait (open only); returns whether they now do. */
  hold(): boolean {
    if (this.#phase.name !== "open" || this.#phase.held) return false;
    const held = new Promise<void>((resolve) => this.#resume = resolve);
    this.#phase = { name: "open", held };
    return true;
  }

  /** Data frames may be read again; returns whether they were held. */
  release(): boolean {
    if (this.#phase.name !== "open" || !this.#phase.held) return false;
    this.#phase = OPEN;
    this.#wake();
    return true;
  }

  /**
   * Open to closing: our close frame is about to be queued. `info` is what
   * the owner hears. Returns false when the connection was not open.
   */
  close(
    info: CloseInfo,
    options: { awaitEcho: boolean; deadline: number },
  ): boolean {
    if (this.#phase.name !== "open") return false;
    this.#phase = {
      name: "closing",
      info,
      awaitEcho: options.awaitEcho,
      deadline: options.deadline,
      sent: false,
    };
    this.#wake();
    this.#effects.told(info);
    return true;
  }

  /** Our close frame is out: end at once, or end our stream and wait. */
  closeSent(): void {
    const phase = this.#phase;
    if (phase.name !== "closing" || phase.sent) return;
    if (!phase.awaitEcho) {
      this.#end(phase.info);
      return;
    }
    this.#phase = { ...phase, sent: true };
    this.#effects.shutWrite();
  }

  /** The peer's close frame arrived while we were closing. */
  echo(): void {
    if (this.#phase.name === "closing") this.#end(this.#phase.info);
  }

  /** The closing handshake took too long (`now` is past the deadline). */
  expire(now: number): void {
    const phase = this.#phase;
    if (phase.name === "closing" && now >= phase.deadline) {
      this.#end(phase.info);
    }
  }

  /**
   * The connection is gone (its stream ended, a read or write failed), or
   * its owner ends it at once (`cause`). While closing it ends with what
   * the owner was told; while open, the owner hears `cause` and 1006.
   */
  lose(cause: CloseCause = "client_gone"): void {
    const phase = this.#phase;
    if (phase.name === "closed") return;
    if (phase.name === "closing") {
      this.#end(phase.info);
      return;
    }
    const info: CloseInfo = { cause, code: 1006, reason: "" };
    this.#phase = { name: "closed", info };
    this.#wake();
    this.#effects.told(info);
    this.#effects.ended(info);
  }

  #end(info: CloseInfo): void {
    this.#phase = { name: "closed", info };
    this.#effects.ended(info);
  }

  // A read waiting for held data to be released goes on: to the next
  // message, or to find that the connection is closing.
  #wake(): void {
    const resume = this.#resume;
    this.#resume = undefined;
    resume?.();
  }
}
