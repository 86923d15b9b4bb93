/**
 * Why the connection manager closes a connection before it upgrades, and
 * how loudly each reason is logged.
 *
 * @module
 */

/**
 * Why the manager closes a connection before it upgrades: past the
 * open-file limit, past the limit of connections not upgraded, evicted to
 * make room, too slow to send its head or take its response, or arriving
 * while the server stops.
 */
export const SHED_REASONS = [
  "file_limit",
  "http_limit",
  "evicted",
  "header_timeout",
  "write_timeout",
  "draining",
] as const;

/** One of {@link SHED_REASONS}. */
export type ShedReason = typeof SHED_REASONS[number];

/**
 * How each shed is logged: peers that exhaust a limit are worth a warning;
 * slow or idle ones (scanners, half-open sockets) only at debug.
 */
export const SHED_LOG: Record<
  ShedReason,
  { level?: "debug" | "warn"; why: string }
> = {
  file_limit: {
    level: "warn",
    why:
      "the open-file limit is reached; raise it (ulimit -n) or lower --max-connections",
  },
  http_limit: {
    level: "warn",
    why: "--max-pending-connections connections are busy with their requests",
  },
  evicted: {
    level: "debug",
    why:
      "the oldest one that had long waited for its request made room for a new one",
  },
  header_timeout: {
    level: "debug",
    why: "its request head did not arrive within --header-timeout",
  },
  write_timeout: {
    level: "debug",
    why: "it did not take its response within --write-timeout",
  },
  draining: { why: "the server is shutting down" },
};
