/**
 * What can go wrong, as errors a caller can act on: each says in words what
 * happened and what to do, and `retry` says whether trying again later can
 * help (a refused token will not; a server restarting will).
 *
 * @module
 */
import type { ErrorCode, ErrorPayload } from "../protocol/shapes.ts";

/** Every error this library throws; `retry` says whether to try again. */
export class DorguError extends Error {
  /** Whether the same thing may work later without changing anything. */
  readonly retry: boolean;

  /** Creates the error. */
  constructor(message: string, options: { retry: boolean; cause?: unknown }) {
    super(message, { cause: options.cause });
    this.name = "DorguError";
    this.retry = options.retry;
  }
}

/** Why a connection could not be made, or ended. */
export type ConnectionFailure =
  | "url"
  | "refused"
  | "unresolved"
  | "unauthorized"
  | "forbidden"
  | "not-found"
  | "busy"
  | "tls"
  | "timeout"
  | "closed"
  | "other";

/** No connection could be made, or it ended under a call. */
export class ConnectionError extends DorguError {
  /** What kind of failure it was. */
  readonly kind: ConnectionFailure;

  /** Creates the error. */
  constructor(
    message: string,
    options: { kind: ConnectionFailure; retry: boolean; cause?: unknown },
  ) {
    super(message, options);
    this.name = "ConnectionError";
    this.kind = options.kind;
  }
}

// Refusals that pass on their own: the server is still listing, or the
// client asked too fast.
const PASSING: readonly ErrorCode[] = ["not_ready", "rate_limited"];

/** An `error` reply from the server. */
export class ServerError extends DorguError {
  /** The protocol error code. */
  readonly code: ErrorCode;

  /** Creates the error from the reply's payload. */
  constructor(payload: ErrorPayload) {
    super(payload.message, { retry: PASSING.includes(payload.code) });
    this.name = "ServerError";
    this.code = payload.code;
  }
}

/** The server sent something that breaks the protocol. */
export class ProtocolError extends DorguError {
  /** Creates the error; `reason` names what was wrong with the message. */
  constructor(reason: string) {
    super(
      `The server sent a message this client does not understand (${reason}); are client and server the same version?`,
      { retry: false },
    );
    this.name = "ProtocolError";
  }
}
