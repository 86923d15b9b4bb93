/** The four topics, in the order the seed lists them. */
export const TOPICS = ["personas", "cluster", "deployments", "events"] as const;

/** A topic a client can subscribe to or request from. */
export type Topic = typeof TOPICS[number];

/** Whether `value` names one of the four topics. */
export function isTopic(value: unknown): value is Topic {
  return typeof value === "string" &&
    (TOPICS as readonly string[]).includes(value);
}
