/**
 * The `events` topic read as `kubectl events` shows it: both kinds of
 * payload (a persona's validation result, a Kubernetes Event) as a type, a
 * reason, an object and a message. Shared by the client's tables and the
 * dashboard, so both call a failed validation a `Warning` with reason
 * `ValidationFailed`.
 *
 * @module
 */
import type { EventsTopicPayload } from "./shapes.ts";

/** One event as a kubectl user reads it. */
export interface EventView {
  /** Namespace. */
  namespace: string;
  /** `Normal` or `Warning` (a failed validation is a Warning). */
  type: string;
  /** e.g. `BackOff`, or `ValidationFailed` / `ValidationPassed`. */
  reason: string;
  /** The object it is about: kind and name. */
  object: { kind: string; name: string };
  /** What happened. */
  message: string;
  /** When it was last seen, RFC 3339; validation results carry no time. */
  lastSeen?: string;
  /** How many times it happened. */
  count: number;
  /** The Event object's own name; empty for validation results. */
  name: string;
  /** The payload it was read from. */
  source: EventsTopicPayload;
}

/** Reads an `events` payload as kubectl shows events. */
export function viewEvent(event: EventsTopicPayload): EventView {
  if (event.kind === "kubernetes") {
    return {
      namespace: event.namespace,
      type: event.type,
      reason: event.reason,
      object: event.involvedObject,
      message: event.message,
      lastSeen: event.lastTimestamp || undefined,
      count: event.count,
      name: event.name,
      source: event,
    };
  }
  const issues = event.issues.length ? `: ${event.issues.join("; ")}` : "";
  return {
    namespace: event.namespace,
    type: event.passed ? "Normal" : "Warning",
    reason: event.passed ? "ValidationPassed" : "ValidationFailed",
    object: { kind: "ApplicationPersona", name: event.name },
    message: event.issueCount === 0
      ? "Validation passed with no issues"
      : `${event.issueCount} issue${
        event.issueCount === 1 ? "" : "s"
      }, highest ${event.severity}${issues}`,
    count: 1,
    name: "",
    source: event,
  };
}
