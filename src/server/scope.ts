/**
 * The authorization scope rule, in one place: a client limited to some
 * namespaces sees objects in those namespaces and every cluster-scoped
 * object (a ClusterPersona has no namespace); an unlimited client sees
 * everything. The hub and the request answers ask this rule; they do not
 * restate it.
 *
 * @module
 */
import type { NamespaceGate } from "../hub/mod.ts";

/** The namespaces a client may see. */
export class NamespaceScope implements NamespaceGate {
  /** A scope that sees every namespace. */
  static readonly ALL: NamespaceScope = new NamespaceScope(null);
  #namespaces: ReadonlySet<string> | null;

  /** A scope of `namespaces`; `null` for all of them. */
  constructor(namespaces: ReadonlySet<string> | null) {
    this.#namespaces = namespaces;
  }

  /** The namespaces, or `null` when unlimited. */
  get namespaces(): ReadonlySet<string> | null {
    return this.#namespaces;
  }

  /** Whether objects in `namespace` ("" for cluster-scoped) may be shown. */
  allows(namespace: string): boolean {
    return this.#namespaces === null || namespace === "" ||
      this.#namespaces.has(namespace);
  }
}
