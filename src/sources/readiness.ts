/**
 * Listing progress: which resources (and, for a source limited to some
 * namespaces, which namespaces of them) have completed their first
 * listing, and why the others have not.
 *
 * @module
 */
import { type Resource, RESOURCE_INFO, RESOURCES } from "./resources.ts";

/** Where a listing covers: one namespace, or "*" for the whole cluster. */
type ListingScope = string;

const CLUSTER: ListingScope = "*";

/** Options for {@link Readiness}. */
export interface ReadinessOptions {
  /** Resources the source follows; only they gate readiness. Default: all. */
  resources?: readonly Resource[];
  /**
   * Namespaces each resource is listed in, one listing each (a source
   * limited to some namespaces); absent means one cluster-wide listing.
   */
  namespaces?: Partial<Record<Resource, readonly string[]>>;
}

/** First-listing progress and recorded problems, per resource. */
export class Readiness {
  #followed: ReadonlySet<Resource>;
  #namespaces: Partial<Record<Resource, readonly string[]>>;
  #listed = new Map<Resource, Set<ListingScope>>();
  // Why a listing cannot complete, by resource and scope.
  #problems = new Map<Resource, Map<ListingScope, string>>();

  /** Creates the bookkeeping for the resources a source follows. */
  constructor(options: ReadinessOptions = {}) {
    this.#followed = new Set(options.resources ?? RESOURCES);
    this.#namespaces = options.namespaces ?? {};
  }

  /** Whether every followed resource has completed its first listing. */
  get ready(): boolean {
    return [...this.#followed].every((r) => this.synced(r));
  }

  /** Whether every listing of `resource` has completed once. */
  synced(resource: Resource): boolean {
    const listed = this.#listed.get(resource);
    if (!listed) return false;
    return listed.has(CLUSTER) ||
      (this.#namespaces[resource] ?? [CLUSTER]).every((s) => listed.has(s));
  }

  /**
   * Whether the listing that covers `namespace` (undefined for
   * cluster-scoped objects) has completed: changes there are news.
   */
  listed(resource: Resource, namespace: string | undefined): boolean {
    const listed = this.#listed.get(resource);
    return !!listed &&
      (listed.has(CLUSTER) ||
        (namespace !== undefined && listed.has(namespace)));
  }

  /** Records that a listing completed; its problem, if any, is over. */
  complete(resource: Resource, namespace: string | undefined): void {
    const scope = namespace ?? CLUSTER;
    const listed = this.#listed.get(resource) ?? new Set();
    listed.add(scope);
    this.#listed.set(resource, listed);
    this.#problems.get(resource)?.delete(scope);
  }

  /**
   * Records why `resource` (in `namespace`, when listed per namespace)
   * cannot be read, or clears it with undefined.
   */
  setProblem(
    resource: Resource,
    problem: string | undefined,
    options: { namespace?: string } = {},
  ): void {
    const scope = options.namespace ?? CLUSTER;
    const problems = this.#problems.get(resource) ?? new Map();
    if (problem === undefined) problems.delete(scope);
    else problems.set(scope, problem);
    this.#problems.set(resource, problems);
  }

  /**
   * Why each followed resource is not ready yet, by resource; empty once
   * all are. A recorded problem (a missing CRD, a refused permission) is
   * the reason while it lasts.
   */
  pending(): Map<Resource, string> {
    const pending = new Map<Resource, string>();
    for (const resource of this.#followed) {
      if (this.synced(resource)) continue;
      pending.set(
        resource,
        this.#problemOf(resource) ?? "waiting for the first list",
      );
    }
    return pending;
  }

  /** Why `resource` cannot be answered from yet; undefined once it can. */
  notReady(resource: Resource): string | undefined {
    if (this.synced(resource) || !this.#followed.has(resource)) {
      return undefined;
    }
    const problem = this.#problemOf(resource);
    const kind = RESOURCE_INFO[resource].kind;
    return problem
      ? `${kind} objects cannot be read yet: ${problem}`
      : `${kind} objects are still being listed; retry in a moment.`;
  }

  #problemOf(resource: Resource): string | undefined {
    const problems = [...this.#problems.get(resource)?.values() ?? []];
    return problems.length ? problems.join("; ") : undefined;
  }
}
