/**
 * The four kinds of thing the client lists and follows, by every name a
 * kubectl user would type for them: plural, singular, short name and the
 * CRD kind.
 *
 * @module
 */
import { type Topic, TOPICS } from "../protocol/mod.ts";

/** How the client names and prints one topic's objects. */
export interface Resource {
  /** The topic carrying it. */
  topic: Topic;
  /** What a user may type, the canonical plural first. */
  names: readonly string[];
  /** The short name, as kubectl's `api-resources` lists one. */
  short: string;
  /** The prefix `-o name` prints, as kubectl does: `deployment.apps`. */
  kind: string;
  /** Whether its objects live in a namespace. */
  namespaced: boolean;
}

/** Every resource, in the protocol's topic order. */
export const RESOURCES: Record<Topic, Resource> = {
  personas: {
    topic: "personas",
    short: "ap",
    names: [
      "personas",
      "persona",
      "ap",
      "applicationpersonas",
      "applicationpersona",
    ],
    kind: "applicationpersona.dorgu.io",
    namespaced: true,
  },
  cluster: {
    topic: "cluster",
    short: "cp",
    names: ["cluster", "clusters", "cp", "clusterpersonas", "clusterpersona"],
    kind: "clusterpersona.dorgu.io",
    namespaced: false,
  },
  deployments: {
    topic: "deployments",
    short: "deploy",
    names: ["deployments", "deployment", "deploy"],
    kind: "deployment.apps",
    namespaced: true,
  },
  events: {
    topic: "events",
    short: "ev",
    names: ["events", "event", "ev"],
    kind: "event",
    namespaced: true,
  },
};

/** The topic `word` names (`ap`, `persona`, `deploy`...), if any. */
export function resolveTopic(word: string): Topic | undefined {
  const lower = word.toLowerCase();
  return TOPICS.find((topic) => RESOURCES[topic].names.includes(lower));
}

/** `personas (ap), cluster (cp), ...`, for messages and help. */
export function describeResources(): string {
  return TOPICS.map((topic) =>
    `${RESOURCES[topic].names[0]} (${RESOURCES[topic].short})`
  ).join(", ");
}
