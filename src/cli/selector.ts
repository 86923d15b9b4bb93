/**
 * `-l` selectors. The protocol carries no labels, so `-l` selects on the
 * columns the data has (`tier=critical,phase!=Active`), in kubectl's
 * equality syntax: `=`, `==` and `!=`, comma meaning and.
 *
 * @module
 */
import { oneOf, UsageError } from "../flags.ts";
import type { Topic } from "../protocol/mod.ts";

/** One `key=value` or `key!=value` requirement. */
export interface Requirement {
  /** The column, e.g. `tier`. */
  key: string;
  /** Whether the value must match (`=`) or must not (`!=`). */
  equal: boolean;
  /** The value, compared case-insensitively. */
  value: string;
}

// Selector key -> the payload field it reads. Listed items and events share
// field names, so one map serves both.
const FIELDS: Record<Topic, Record<string, string>> = {
  personas: {
    app: "appName",
    type: "type",
    tier: "tier",
    phase: "phase",
    health: "health",
  },
  cluster: {
    environment: "environment",
    phase: "phase",
    platform: "platform",
    version: "kubernetesVersion",
  },
  deployments: { rollout: "rollout", persona: "persona" },
  events: {},
};

// The keys a topic's events carry, so `watch -l` can match each change.
const IN_EVENTS: Record<Topic, readonly string[]> = {
  personas: ["phase", "health"],
  cluster: ["phase"],
  deployments: ["rollout", "persona"],
  events: [],
};

/** The keys `-l` takes for `topic`; `following` narrows them to what events carry. */
export function selectorKeys(topic: Topic, following: boolean): string[] {
  return following ? [...IN_EVENTS[topic]] : Object.keys(FIELDS[topic]);
}

/** Parses `tier=critical,phase!=Active`; `what` names the flag in messages. */
export function parseSelector(
  raw: string,
  options: { keys: readonly string[]; what: string },
): Requirement[] {
  const { keys, what } = options;
  if (keys.length === 0) {
    throw new UsageError(
      `${what}: these items have no columns to select on; use --type, --reason or --for for events.`,
    );
  }
  return raw.split(",").map((part) => {
    const match = /^\s*([a-z]+)\s*(==|=|!=)\s*([^=!,\s]*)\s*$/i.exec(part);
    if (!match) {
      throw new UsageError(
        `${what} must be KEY=VALUE or KEY!=VALUE, comma-separated, got '${raw}'.`,
      );
    }
    const key = match[1].toLowerCase();
    if (!keys.includes(key)) {
      throw new UsageError(
        `${what} selects on ${oneOf(keys)}, not '${match[1]}'.`,
      );
    }
    return { key, equal: match[2] !== "!=", value: match[3] };
  });
}

/** Whether `item` (a listed object or an event payload) meets every requirement. */
export function selects(
  topic: Topic,
  requirements: readonly Requirement[],
  item: unknown,
): boolean {
  const record = item as Record<string, unknown>;
  return requirements.every(({ key, equal, value }) => {
    const field = record[FIELDS[topic][key]];
    const actual = field === undefined || field === null ? "" : String(field);
    return (actual.toLowerCase() === value.toLowerCase()) === equal;
  });
}
