/**
 * What the process's open-file limit allows: read at start where it can
 * be (/proc/self/limits), learned from the first accept that fails for
 * lack of descriptors where it cannot (the compiled binary: Deno refuses
 * /proc/self without --allow-all). Deno raises the soft limit to the hard
 * one at start, as Go does.
 *
 * @module
 */

// Descriptors kept free for everything that is not a client connection:
// source files, API watches, logs.
const FILE_RESERVE = 64;
// Of the client connections the limit allows, this many are kept for
// requests that have not upgraded, so /health still answers when
// WebSockets fill the rest.
const HTTP_SHARE = 32;

/** The client connections the open-file limit leaves room for. */
export class FileLimit {
  #connections: number | undefined;

  /** Starts with `connections` allowed, or none known. */
  constructor(connections?: number) {
    this.#connections = connections;
  }

  /** Client connections allowed; undefined while unknown. */
  get connections(): number | undefined {
    return this.#connections;
  }

  /** Whether `open` client connections leave no room for another. */
  full(open: number): boolean {
    return this.#connections !== undefined && open >= this.#connections;
  }

  /** WebSockets allowed: `configured`, or less to keep the plain share. */
  webSockets(configured: number): number {
    if (this.#connections === undefined) return configured;
    return Math.min(configured, Math.max(1, this.#connections - HTTP_SHARE));
  }

  /**
   * The process ran out of descriptors with `open` client connections:
   * from now on it keeps at most these, less the reserve. Returns the new
   * number when it lowered it; undefined when too few clients are open to
   * be the cause, or the number known is already lower.
   */
  learn(open: number): number | undefined {
    if (open <= FILE_RESERVE) return undefined;
    const connections = open - FILE_RESERVE;
    if (this.#connections !== undefined && this.#connections <= connections) {
      return undefined;
    }
    this.#connections = connections;
    return connections;
  }
}

/** Whether `error` says the process or system is out of descriptors. */
export function outOfFiles(error: unknown): boolean {
  const code = (error as { code?: unknown }).code;
  return code === "EMFILE" || code === "ENFILE";
}

/**
 * Connections the open-file limit leaves room for: the soft `RLIMIT_NOFILE`
 * (from /proc/self/limits, where there is one) less a reserve. Undefined
 * where the limit cannot be read or is unlimited.
 */
export function connectionsAllowedByFileLimit(
  limits = readProcLimits(),
): number | undefined {
  const match = /^Max open files\s+(\d+|unlimited)/m.exec(limits ?? "");
  if (!match || match[1] === "unlimited") return undefined;
  return Math.max(1, Number(match[1]) - FILE_RESERVE);
}

function readProcLimits(): string | undefined {
  try {
    return Deno.readTextFileSync("/proc/self/limits");
  } catch {
    return undefined;
  }
}
