/**
 * The `events` topic: a log, not a state. It carries a persona's
 * validation results and core/v1 Events; unlike the state topics, what the
 * first listing finds is its history, so `request events` shows recent
 * trouble from the start.
 *
 * @module
 */
import type { ValidationEvent } from "../protocol/mod.ts";
import { type ChangeOf, replacedObject } from "./change.ts";
import type { EventProjection, ValidationState } from "./projections.ts";
import type { Publication } from "./sink.ts";

const SEVERITY_RANK = ["info", "warning", "error"] as const;

/**
 * The validation event of a persona's change: one when its
 * `status.validation` is set and differs from before (or the persona was
 * replaced), carrying the highest severity among the issues.
 */
export function validationEvents(
  change: ChangeOf<"personas">,
): Publication[] {
  const { previous, next } = change;
  if (
    !next?.validation ||
    (!replacedObject(previous, next) &&
      sameValidation(previous?.validation ?? null, next.validation))
  ) return [];
  const { issues, passed } = next.validation;
  let rank = -1;
  for (const issue of issues) {
    rank = Math.max(
      rank,
      SEVERITY_RANK.indexOf(
        issue.severity.toLowerCase() as typeof SEVERITY_RANK[number],
      ),
    );
  }
  const payload: ValidationEvent = {
    kind: "validation",
    namespace: next.namespace,
    name: next.name,
    passed,
    issueCount: issues.length,
    severity: issues.length === 0 ? "none" : SEVERITY_RANK[Math.max(rank, 0)],
    issues: issues.map((issue) => issue.message),
  };
  return [{
    topic: "events",
    payload,
    keys: { namespace: next.namespace, name: next.name },
  }];
}

/**
 * The event of a core/v1 Event's change: one when it is new or recurred
 * (count, time, message, type or reason changed). An Event expiring from
 * the API is housekeeping, not news.
 */
export function kubernetesEvents(change: ChangeOf<"events">): Publication[] {
  const { previous, next } = change;
  if (!next || (previous && sameEvent(previous, next))) return [];
  return [{
    topic: "events",
    payload: {
      kind: "kubernetes",
      namespace: next.namespace,
      name: next.name,
      type: next.type,
      reason: next.reason,
      message: next.message,
      involvedObject: next.involvedObject,
      count: next.count,
      lastTimestamp: next.lastTimestamp,
    },
    keys: {
      namespace: next.namespace,
      name: next.name,
      alias: next.involvedObject.name,
    },
  }];
}

function sameEvent(a: EventProjection, b: EventProjection): boolean {
  return a.uid === b.uid && a.count === b.count &&
    a.lastTimestamp === b.lastTimestamp && a.message === b.message &&
    a.type === b.type && a.reason === b.reason;
}

function sameValidation(
  a: ValidationState | null,
  b: ValidationState | null,
): boolean {
  if (a === null || b === null) return a === b;
  return a.passed === b.passed && a.issues.length === b.issues.length &&
    a.issues.every((issue, i) =>
      issue.severity === b.issues[i].severity &&
      issue.message === b.issues[i].message
    );
}
