/**
 * The four kinds of thing the client lists and follows, by every name a
 * kubectl user would type for them: plural, singular, short name and the
 * CRD kind.
 *
 * @module
 */
import { UsageError } from "../flags.ts";
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

/**
 * The topic `word` names (`ap`, `persona`, `deploy`...), if any; also with
 * its API group, as `-o name` prints it (`applicationpersona.dorgu.io`,
 * `deployments.apps`).
 */
export function resolveTopic(word: string): Topic | undefined {
  const lower = word.toLowerCase();
  const dot = lower.indexOf(".");
  const [name, group] = dot < 0
    ? [lower, undefined]
    : [lower.slice(0, dot), lower.slice(dot + 1)];
  return TOPICS.find((topic) => {
    const { names, kind } = RESOURCES[topic];
    const own = kind.includes(".") ? kind.slice(kind.indexOf(".") + 1) : "";
    return names.includes(name) && (group === undefined || group === own);
  });
}

/**
 * The resource word and the names of a command line's positionals, which
 * come as kubectl takes them: `RESOURCE NAME...`, or every one
 * `RESOURCE/NAME` (what `-o name` prints), all of one resource.
 */
export function splitPositionals(
  positionals: string[],
): { word?: string; names: string[] } {
  const [first, ...rest] = positionals;
  if (first === undefined || !first.includes("/")) {
    const typed = rest.find((name) => name.includes("/"));
    if (typed !== undefined) {
      throw new UsageError(
        `'${typed}': pass a RESOURCE and then NAMEs, or every object as RESOURCE/NAME, not both.`,
      );
    }
    return { word: first, names: rest };
  }
  const pairs = positionals.map((arg) => {
    const slash = arg.indexOf("/");
    if (slash <= 0 || slash === arg.length - 1) {
      throw new UsageError(
        slash < 0
          ? `'${arg}' is not RESOURCE/NAME; once one object is given as RESOURCE/NAME, all must be.`
          : `'${arg}' is not RESOURCE/NAME.`,
      );
    }
    return { word: arg.slice(0, slash), name: arg.slice(slash + 1) };
  });
  const topic = resolveTopic(pairs[0].word);
  const other = pairs.find((pair) => resolveTopic(pair.word) !== topic);
  if (topic !== undefined && other !== undefined) {
    throw new UsageError(
      `'${other.word}/${other.name}' is not a ${
        RESOURCES[topic].names[0]
      } object; one command takes one resource.`,
    );
  }
  return { word: pairs[0].word, names: pairs.map((pair) => pair.name) };
}

/** `personas (ap), cluster (cp), ...`, for messages and help. */
export function describeResources(): string {
  return TOPICS.map((topic) =>
    `${RESOURCES[topic].names[0]} (${RESOURCES[topic].short})`
  ).join(", ");
}
