/**
 * valibot issues in words, for error messages.
 *
 * @module
 */
import * as v from "valibot";

/**
 * Renders valibot issues as one line naming each offending field, e.g.
 * `payload.since.offset: An offset is zero or more.`
 */
export function describeIssues(
  issues: readonly v.BaseIssue<unknown>[],
  prefix: string,
): string {
  return issues.slice(0, 3).map((issue) => {
    // The keys of objects and arrays, as valibot's getDotPath joins them
    // (every schema here has string or number keys), in fewer bytes of the
    // dashboard's script.
    const keys = issue.path?.map((item) => item.key).join(".");
    const path = [prefix, keys].filter(Boolean).join(".");
    const text = issue.message.endsWith(".")
      ? issue.message
      : `${issue.message}.`;
    return path ? `${path}: ${text}` : text;
  }).join(" ");
}
