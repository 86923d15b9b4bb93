/**
 * Answers to `request` messages: the state topics from the sources'
 * queries, the `events` log from the hub's history, each kept to the
 * namespaces the client may see.
 *
 * @module
 */
import type { Hub } from "../hub/mod.ts";
import {
  DEFAULT_EVENTS_LIMIT,
  type ErrorPayload,
  type Query,
} from "../protocol/mod.ts";
import type { Queries } from "../sources/mod.ts";
import type { NamespaceScope } from "./scope.ts";

/** What a request is answered with: a payload, or an error. */
export type Answer = { payload: unknown } | { error: ErrorPayload };

/** Where answers come from. */
export interface AnswerSources {
  /** The sources' queries over their cache. */
  queries: Queries;
  /** The hub, for the events log. */
  hub: Hub;
}

/** Answers `query` for a client limited to `scope`. */
export function answer(
  query: Query,
  options: AnswerSources & { scope: NamespaceScope },
): Answer {
  const notReady = options.queries.notReady(query.topic);
  if (notReady !== undefined) {
    return { error: { code: "not_ready", message: notReady } };
  }
  const scope = options.scope;
  switch (query.topic) {
    case "personas":
      return {
        payload: {
          personas: options.queries.personas(query).filter((p) =>
            scope.allows(p.namespace)
          ),
        },
      };
    case "deployments":
      return {
        payload: {
          deployments: options.queries.deployments(query).filter((d) =>
            scope.allows(d.namespace)
          ),
        },
      };
    case "cluster": {
      const found = options.queries.clusterPersona(query.name);
      return found.ok
        ? { payload: found.value }
        : { error: { code: "not_found", message: found.reason } };
    }
    case "events":
      // A log, not a state: answered from the topic's history.
      return {
        payload: {
          events: options.hub.recent("events", {
            namespace: query.namespace,
            limit: query.limit ?? DEFAULT_EVENTS_LIMIT,
            scope,
          }),
        },
      };
  }
}
