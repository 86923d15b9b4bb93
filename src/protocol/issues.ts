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
    const path = [prefix, v.getDotPath(issue)].filter(Boolean).join(".");
    const text = issue.message.endsWith(".")
      ? issue.message
      : `${issue.message}.`;
    return path ? `${path}: ${text}` : text;
  }).join(" ");
}
