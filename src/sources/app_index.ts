/**
 * Which ApplicationPersonas claim which app: `namespace/appName` to the
 * names of the personas whose `spec.name` is that app. A Deployment of the
 * same namespace and name belongs to the first of them, alphabetically.
 *
 * @module
 */
import { compareText } from "./change.ts";
import type { PersonaProjection } from "./projections.ts";

/** The persona -> app index. */
export class AppIndex {
  // namespace/appName -> claiming persona names, sorted.
  #apps = new Map<string, string[]>();

  /** The persona a Deployment `namespace/name` belongs to, if any. */
  personaOf(namespace: string, name: string): string | undefined {
    return this.#apps.get(`${namespace}/${name}`)?.[0];
  }

  /**
   * Applies a persona's change and returns the apps (`namespace/appName`,
   * the cache key of their Deployment) whose persona is now another one.
   */
  relink(
    previous: PersonaProjection | undefined,
    next: PersonaProjection | undefined,
  ): string[] {
    // Most updates are status churn that claims the same app: skip them.
    if (previous?.appName === next?.appName) return [];
    const before = new Map<string, string | undefined>();
    for (const persona of [previous, next]) {
      if (!persona?.appName) continue;
      const app = appOf(persona);
      before.set(app, this.#apps.get(app)?.[0]);
    }
    if (previous?.appName) this.#unclaim(previous);
    if (next?.appName) this.#claim(next);
    return [...before].filter(([app, first]) =>
      this.#apps.get(app)?.[0] !== first
    ).map(([app]) => app);
  }

  #claim(persona: PersonaProjection): void {
    const app = appOf(persona);
    const names = this.#apps.get(app) ?? [];
    names.push(persona.name);
    names.sort(compareText);
    this.#apps.set(app, names);
  }

  #unclaim(persona: PersonaProjection): void {
    const app = appOf(persona);
    const names = this.#apps.get(app)?.filter((n) => n !== persona.name);
    if (names?.length) this.#apps.set(app, names);
    else this.#apps.delete(app);
  }
}

function appOf(persona: PersonaProjection): string {
  return `${persona.namespace}/${persona.appName}`;
}
