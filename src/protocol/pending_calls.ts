/**
 * Requests a client has sent and awaits replies to, by `requestId`, each
 * with a deadline: the part of a client connection that is the same in the
 * CLI and the dashboard, whatever socket carries it.
 *
 * @module
 */
import { startTimer } from "../timer.ts";
import type { ResponseMessage } from "./messages.ts";

/** One call waiting for its reply, with what its caller attached. */
export interface PendingCall<T> {
  /** What the caller attached (e.g. the schema of the expected payload). */
  readonly extra: T;
  /** Settles the call with its `response`. */
  resolve(message: ResponseMessage): void;
  /** Settles the call with an error. */
  reject(error: Error): void;
}

/** Calls awaiting replies. */
export class PendingCalls<T = undefined> {
  #pending = new Map<string, PendingCall<T>>();
  #prefix: string;
  #timeoutMs: number;
  #next = 1;

  /** Calls get ids `${prefix}1`, `${prefix}2`...; each waits `timeoutMs`. */
  constructor(options: { prefix: string; timeoutMs: number }) {
    this.#prefix = options.prefix;
    this.#timeoutMs = options.timeoutMs;
  }

  /**
   * Registers a call. Returns its `requestId` and the promise of its
   * reply, which rejects with `timeout()` when none comes in time.
   */
  start(
    extra: T,
    timeout: () => Error,
  ): { requestId: string; reply: Promise<ResponseMessage> } {
    const requestId = `${this.#prefix}${this.#next++}`;
    const reply = new Promise<ResponseMessage>((resolve, reject) => {
      const cancel = startTimer(this.#timeoutMs, () => {
        this.#pending.delete(requestId);
        reject(timeout());
      });
      this.#pending.set(requestId, {
        extra,
        resolve: (message) => {
          cancel();
          resolve(message);
        },
        reject: (error) => {
          cancel();
          reject(error);
        },
      });
    });
    return { requestId, reply };
  }

  /** Removes and returns the call `requestId` names, if it is waiting. */
  take(requestId: string | undefined): PendingCall<T> | undefined {
    if (requestId === undefined) return undefined;
    const call = this.#pending.get(requestId);
    this.#pending.delete(requestId);
    return call;
  }

  /** Rejects every waiting call with `error`. */
  rejectAll(error: Error): void {
    const calls = [...this.#pending.values()];
    this.#pending.clear();
    for (const call of calls) call.reject(error);
  }
}
