/**
 * The client's failures: one line for the user and the exit code.
 *
 * @module
 */

/** A failure the user sees as one line; `exitCode` is what the process returns. */
export class ClientError extends Error {
  /** The process exit code. */
  readonly exitCode: number;

  /** Creates the error. */
  constructor(message: string, exitCode = 1) {
    super(message);
    this.name = "ClientError";
    this.exitCode = exitCode;
  }
}
