/**
 * The in-process server's log, for a person at a terminal rather than a
 * log collector: warnings and errors become one plain line each ("Cannot
 * read ...; retrying (cannot reach the API server ...)"), and the line
 * that a resource is read again follows the warning it answers. The rest
 * (debug, routine info) stays quiet, as `kubectl get -w` is quiet.
 *
 * @module
 */
import type { LogFields, Logger } from "../log.ts";

/** A logger that turns warnings into lines handed to `notice`. */
export function noticeLogger(
  notice: (text: string) => void,
  base: LogFields = {},
): Logger {
  // Resources a warning has been shown for: their recovery is news.
  const troubled = new Set<unknown>();
  const line = (msg: string, fields: LogFields) => {
    const reason = fields.reason ?? fields.error;
    const detail = reason instanceof Error ? reason.message : reason;
    notice(detail === undefined ? `${msg}.` : `${msg} (${detail}).`);
  };
  const build = (own: LogFields): Logger => {
    const warn = (msg: string, fields: LogFields = {}) => {
      const all = { ...own, ...fields };
      troubled.add(all.resource);
      line(msg, all);
    };
    return {
      debug() {},
      info(msg, fields = {}) {
        const all = { ...own, ...fields };
        if (all.recovered !== true || !troubled.has(all.resource)) return;
        troubled.delete(all.resource);
        line(msg, {});
      },
      warn,
      error: warn,
      with: (fields) => build({ ...own, ...fields }),
    };
  };
  return build(base);
}
