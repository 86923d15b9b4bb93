/**
 * The store: a cache of projections per resource, filled by a source (the
 * Kubernetes API or a directory of manifests) the way client-go's Reflector
 * fills a Store. Every add, update and delete is diffed against the cached
 * projection and reported to the change handlers as `(previous, next)` in
 * the same turn as the cache changes, so that whatever the handlers publish
 * and a later read of the cache always agree.
 *
 * @module
 */
import { createLogger, type Logger } from "../log.ts";
import { type Change, compareText } from "./change.ts";
import {
  type EventProjection,
  objectKey,
  PROJECT,
  ProjectionError,
  projectionKey,
  type Projections,
} from "./projections.ts";
import { Readiness, type ReadinessOptions } from "./readiness.ts";
import { type Resource, RESOURCE_INFO, RESOURCES } from "./resources.ts";

/** Collects a full listing of one resource, then diffs it against the cache. */
export interface Resync {
  /** Adds one listed object. Objects that do not project are logged and skipped. */
  add(object: unknown): void;
  /** Replaces the cache with the listing and reports the differences. */
  commit(): void;
}

/** Counters per resource, for `/metrics`. */
export interface ResourceStats {
  /** Objects in the cache. */
  objects: number;
  /** Objects that did not project. */
  decodeErrors: number;
  /** Whether the first listing has completed. */
  synced: boolean;
}

/** Options for {@link Store}. */
export interface StoreOptions extends ReadinessOptions {
  /** Where objects that do not project are logged. */
  log?: Logger;
}

/** Called with every change, in the order the cache changes. */
export type ChangeHandler = (change: Change) => void;

type Caches = { [R in Resource]: Map<string, Projections[R]> };

/** The projection cache and its listing progress. */
export class Store {
  /** First-listing progress and problems: `/ready` and `not_ready`. */
  readonly readiness: Readiness;
  #log: Logger;
  #caches: Caches = {
    personas: new Map(),
    clusters: new Map(),
    deployments: new Map(),
    events: new Map(),
  };
  #decodeErrors = new Map<Resource, number>();
  #handlers: ChangeHandler[] = [];

  /** Creates an empty store. */
  constructor(options: StoreOptions = {}) {
    this.#log = options.log ?? createLogger();
    this.readiness = new Readiness(options);
  }

  /** Adds a handler that sees every later change. */
  onChange(handler: ChangeHandler): void {
    this.#handlers.push(handler);
  }

  /** The cached projection of `resource` under `key`, if any. */
  get<R extends Resource>(
    resource: R,
    key: string,
  ): Projections[R] | undefined {
    return this.#caches[resource].get(key) as Projections[R] | undefined;
  }

  /** Every cached projection of `resource`, in no particular order. */
  list<R extends Resource>(resource: R): Projections[R][] {
    return [...this.#caches[resource].values()] as Projections[R][];
  }

  /** Applies an added or modified object. */
  upsert(resource: Resource, object: unknown): void {
    const projection = this.#project(resource, object);
    if (projection) this.#put(resource, projection);
  }

  /** Applies a deletion. The object only needs its metadata. */
  remove(resource: Resource, object: unknown): void {
    let key: string;
    try {
      key = objectKey(resource, object);
    } catch (error) {
      this.#decodeFailed(resource, error as Error);
      return;
    }
    this.#drop(resource, key);
  }

  /**
   * Starts a full listing of `resource` (in `namespace`, for a source
   * limited to some namespaces). Its commit diffs the listing against the
   * cache, so changes made while the source was disconnected come out as
   * the right additions, updates and deletions.
   */
  resync(resource: Resource, options: { namespace?: string } = {}): Resync {
    const listed = new Map<string, Projections[Resource]>();
    const namespace = options.namespace;
    return {
      add: (object) => {
        const projection = this.#project(resource, object);
        if (projection) {
          listed.set(projectionKey(resource, projection), projection);
        }
      },
      commit: () => {
        const projections = [...listed.values()];
        if (resource === "events") {
          // Into the log in the order they happened.
          (projections as EventProjection[]).sort((a, b) =>
            compareText(a.lastTimestamp, b.lastTimestamp)
          );
        }
        for (const projection of projections) {
          this.#put(resource, projection);
        }
        for (const [key, cached] of [...this.#caches[resource]]) {
          if (listed.has(key)) continue;
          if (namespace !== undefined && namespaceOf(cached) !== namespace) {
            continue;
          }
          this.#drop(resource, key);
        }
        this.readiness.complete(resource, namespace);
      },
    };
  }

  /** Counters per resource. */
  stats(): Map<Resource, ResourceStats> {
    return new Map(RESOURCES.map((resource) => [resource, {
      objects: this.#caches[resource].size,
      decodeErrors: this.#decodeErrors.get(resource) ?? 0,
      synced: this.readiness.synced(resource),
    }]));
  }

  #project<R extends Resource>(
    resource: R,
    object: unknown,
  ): Projections[R] | undefined {
    try {
      return PROJECT[resource](object) as Projections[R];
    } catch (error) {
      if (!(error instanceof ProjectionError)) throw error;
      this.#decodeFailed(resource, error);
      return undefined;
    }
  }

  #decodeFailed(resource: Resource, error: Error): void {
    this.#decodeErrors.set(
      resource,
      (this.#decodeErrors.get(resource) ?? 0) + 1,
    );
    this.#log.warn(
      `Skipped a ${
        RESOURCE_INFO[resource].kind
      } that does not have the expected shape`,
      { resource, reason: error.message },
    );
  }

  #put<R extends Resource>(resource: R, next: Projections[R]): void {
    const key = projectionKey(resource, next);
    const cache = this.#caches[resource] as Map<string, Projections[R]>;
    const previous = cache.get(key);
    cache.set(key, next);
    this.#changed(resource, previous, next);
  }

  #drop(resource: Resource, key: string): void {
    const cache = this.#caches[resource];
    const previous = cache.get(key);
    if (previous === undefined) return;
    cache.delete(key);
    this.#changed(resource, previous, undefined);
  }

  #changed<R extends Resource>(
    resource: R,
    previous: Projections[R] | undefined,
    next: Projections[R] | undefined,
  ): void {
    const object = (previous ?? next) as Projections[R];
    const initial = !this.readiness.listed(resource, namespaceOf(object));
    const change = { resource, previous, next, initial } as Change;
    for (const handler of this.#handlers) handler(change);
  }
}

// Undefined for cluster-scoped objects.
function namespaceOf(projection: Projections[Resource]): string | undefined {
  return "namespace" in projection ? projection.namespace : undefined;
}
