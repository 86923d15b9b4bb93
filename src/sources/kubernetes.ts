/**
 * The Kubernetes source: one informer per followed resource (and per
 * namespace with `--namespace`), each feeding the {@link Store}.
 *
 * @module
 */
// The modules themselves, not kube/mod.ts: credentials (and the library
// they may load) are the caller's.
import { redactUrl } from "../redact.ts";
import { type CredentialSource, KubeClient } from "../kube/client.ts";
import { Informer, type InformerOptions } from "../kube/informer.ts";
import { createLogger, type Logger } from "../log.ts";
import {
  collectionPath,
  listingLabel,
  type Resource,
  RESOURCE_INFO,
  RESOURCES,
} from "./resources.ts";
import type { Source, WatchStats } from "./source.ts";
import type { Store } from "./store.ts";

/** Options for {@link KubernetesSource}. */
export interface KubernetesSourceOptions {
  /** Credentials for the API server, shared with anything else using them. */
  credentials: CredentialSource;
  /** Namespaces to watch namespaced resources in; empty for all. */
  namespaces: readonly string[];
  /** The resources to follow; default all four. */
  resources?: readonly Resource[];
  /** Structured log. */
  log?: Logger;
  /** Informer tuning (tests shorten the timeouts). */
  informer?: InformerTuning;
}

/** Informer settings a caller may change (tests shorten the timeouts). */
export type InformerTuning = Pick<
  InformerOptions,
  "watchSeconds" | "stallMs" | "backoffMs" | "pageSize"
>;

/** What {@link informerFor} builds an informer of. */
export interface InformerFor {
  /** The API client. */
  client: KubeClient;
  /** The resource. */
  resource: Resource;
  /** Its namespace, for a namespaced resource read in one; else all. */
  namespace?: string;
  /** Only the objects this selects (`metadata.name=web`). */
  fieldSelector?: string;
  /** Start watching here: the store already holds the listing at it. */
  resourceVersion?: string;
  /** Structured log. */
  log: Logger;
  /** Informer tuning. */
  tuning?: InformerTuning;
}

/**
 * An informer that feeds `store` with one resource, in one namespace or
 * all of them, and records in the store's readiness why it cannot read.
 */
export function informerFor(store: Store, options: InformerFor): Informer {
  const { resource, namespace } = options;
  const info = RESOURCE_INFO[resource];
  return new Informer({
    client: options.client,
    path: collectionPath(info, namespace),
    label: listingLabel(info, namespace),
    fieldSelector: options.fieldSelector,
    resourceVersion: options.resourceVersion,
    target: {
      resync: () => store.resync(resource, { namespace }),
      upsert: (object) => store.upsert(resource, object),
      remove: (object) => store.remove(resource, object),
      problem: (message) =>
        store.readiness.setProblem(resource, message, { namespace }),
    },
    log: options.log,
    ...options.tuning,
  });
}

/** Follows a Kubernetes cluster through its API server. */
export class KubernetesSource implements Source {
  #store: Store;
  #options: KubernetesSourceOptions;
  #log: Logger;
  #credentials: CredentialSource;
  #client: KubeClient;
  #informers: { resource: Resource; informer: Informer }[] = [];

  /** Creates the source; {@link KubernetesSource.start} connects. */
  constructor(store: Store, options: KubernetesSourceOptions) {
    this.#store = store;
    this.#options = options;
    this.#log = options.log ?? createLogger();
    this.#credentials = options.credentials;
    this.#client = new KubeClient(options.credentials);
  }

  /**
   * Loads credentials (failing at once, with a clear reason, when there are
   * none) and starts every informer. Connection problems are not fatal:
   * the informers retry and `/ready` says what they wait for.
   */
  async start(): Promise<void> {
    const access = await this.#credentials.load();
    this.#log.info("Following the cluster", {
      server: redactUrl(access.server),
      credentials: access.describe,
      namespaces: this.#options.namespaces.length
        ? this.#options.namespaces
        : "all",
    });
    if (access.insecure) {
      this.#log.warn(
        "The kubeconfig skips TLS verification (insecure-skip-tls-verify); anyone on the path can impersonate the API server",
      );
    }
    for (const resource of this.#options.resources ?? RESOURCES) {
      const info = RESOURCE_INFO[resource];
      const namespaces: (string | undefined)[] =
        info.namespaced && this.#options.namespaces.length
          ? [...this.#options.namespaces]
          : [undefined];
      for (const namespace of namespaces) {
        const informer = informerFor(this.#store, {
          client: this.#client,
          resource,
          namespace,
          log: this.#log,
          tuning: this.#options.informer,
        });
        this.#informers.push({ resource, informer });
        informer.start();
      }
    }
  }

  /** Stops every informer. */
  stop(): void {
    for (const { informer } of this.#informers) informer.stop();
    this.#client.close();
  }

  /** Watch counters per resource, summed over namespaces. */
  watchStats(): Map<Resource, WatchStats> {
    const stats = new Map<Resource, WatchStats>(
      RESOURCES.map((r) => [r, { restarts: 0, relists: 0, decodeErrors: 0 }]),
    );
    for (const { resource, informer } of this.#informers) {
      const sum = stats.get(resource) as WatchStats;
      sum.restarts += informer.stats.restarts;
      sum.relists += informer.stats.relists;
      sum.decodeErrors += informer.stats.decodeErrors;
    }
    return stats;
  }
}
