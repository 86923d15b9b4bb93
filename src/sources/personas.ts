/**
 * ApplicationPersonas on the `personas` topic: the summary `request
 * personas` lists, and the events a persona's change amounts to.
 *
 * @module
 */
import type { PersonaSummary } from "../protocol/mod.ts";
import { type ChangeOf, changeTypes } from "./change.ts";
import type { PersonaProjection } from "./projections.ts";
import type { Publication } from "./sink.ts";

/** A persona as `request personas` lists it. */
export function personaSummary(p: PersonaProjection): PersonaSummary {
  return {
    namespace: p.namespace,
    name: p.name,
    appName: p.appName,
    type: p.type,
    tier: p.tier,
    phase: p.phase,
    health: p.health,
  };
}

/**
 * A persona as a request naming it is answered: the summary and, when the
 * operator has reported one, its validation.
 */
export function personaDetail(p: PersonaProjection): PersonaSummary {
  const summary = personaSummary(p);
  return p.validation ? { ...summary, validation: p.validation } : summary;
}

/**
 * The `personas` events of one change: created, deleted, and updated when
 * a field of the summary changed (status churn such as a new health check
 * time is not news). None for the first listing.
 */
export function personaEvents(change: ChangeOf<"personas">): Publication[] {
  if (change.initial) return [];
  return changeTypes(change, summaryChanged).map(([eventType, persona]) => ({
    topic: "personas",
    payload: {
      eventType,
      namespace: persona.namespace,
      name: persona.name,
      phase: persona.phase,
      health: persona.health,
    },
    keys: { namespace: persona.namespace, name: persona.name },
  }));
}

function summaryChanged(a: PersonaProjection, b: PersonaProjection): boolean {
  return a.appName !== b.appName || a.type !== b.type || a.tier !== b.tier ||
    a.phase !== b.phase || a.health !== b.health;
}
