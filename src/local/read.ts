/**
 * Reading the cluster once: each planned collection listed with paging
 * (all at once, over the client's one connection), then committed into the
 * store in plan order, so the store, its derived events and their order
 * are what a server's first listings would have made. A refusal, a
 * missing CRD or an unreachable API server ends the read with one line;
 * nothing is retried, as kubectl retries nothing.
 *
 * @module
 */
import type { KubeClient } from "../kube/client.ts";
import { listCollection } from "../kube/list.ts";
import { collectionPath, RESOURCE_INFO } from "../sources/resources.ts";
import type { Resync, Store } from "../sources/store.ts";
import { readFailure, type Where } from "./errors.ts";
import type { Reading } from "./plan.ts";

/** Options for {@link readOnce}. */
export interface ReadOptions {
  /** Where requests go, for messages. */
  where: Where;
  /** How long each page may take, ms (`--timeout`). */
  timeoutMs: number;
  /** Ends the read. */
  signal?: AbortSignal;
  /** Items per page. Default 500, as kubectl asks. */
  pageSize?: number;
}

/**
 * Lists every reading into `store`. Resolves with each listing's
 * resourceVersion, in the order of `readings`, where a watch of it starts.
 */
export async function readOnce(
  client: KubeClient,
  store: Store,
  readings: readonly Reading[],
  options: ReadOptions,
): Promise<string[]> {
  const listings: (Resync | undefined)[] = readings.map(() => undefined);
  // The first failure is the answer: the other listings stop.
  const failed = new AbortController();
  const signal = options.signal
    ? AbortSignal.any([options.signal, failed.signal])
    : failed.signal;
  const versions = await Promise.all(readings.map(async (reading, i) => {
    const { resource, namespace, name } = reading;
    try {
      return await listCollection(
        client,
        collectionPath(RESOURCE_INFO[resource], namespace),
        {
          // Held until every listing is in: then committed in order.
          begin: () => {
            const listing = store.resync(resource, { namespace });
            listings[i] = listing;
            return { add: (object) => listing.add(object), commit() {} };
          },
          fieldSelector: name === undefined
            ? undefined
            : `metadata.name=${name}`,
          pageSize: options.pageSize,
          signal,
          pageTimeoutMs: options.timeoutMs,
        },
      );
    } catch (error) {
      if (signal.aborted) throw error;
      failed.abort();
      throw readFailure(error, reading, options.where);
    }
  }));
  for (const listing of listings) listing?.commit();
  return versions;
}
