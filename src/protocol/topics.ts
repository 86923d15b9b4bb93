/**
 * The four topics.
 *
 * @module
 */
import type { Topic } from "./shapes.ts";

/** The four topics, in the order the seed lists them. */
export const TOPICS = ["personas", "cluster", "deployments", "events"] as const;

/** Whether `value` names one of the four topics. */
export function isTopic(value: unknown): value is Topic {
  return typeof value === "string" &&
    (TOPICS as readonly string[]).includes(value);
}
