/**
 * Reading the cluster once: each planned collection listed with paging
 * (all at once, over the client's one connection), then committed into the
 * store in plan order, so the store, its derived events and their order
 * are what a server's first listings would have made. A refusal, a
 * missing CRD or an unreachable API server ends the read with one line;
 * only a 429 or 5xx with `Retry-After` is retried, as kubectl retries it.
 *
 * @module
 */
import { ApiError, type KubeClient } from "../kube/client.ts";
import { listCollection } from "../kube/list.ts";
import { collectionPath, RESOURCE_INFO } from "../sources/resources.ts";
import type { Resync, Store } from "../sources/store.ts";
import { delay, retryAfterMs } from "../retry.ts";
import { readFailure, type Where } from "./errors.ts";
import type { Reading } from "./plan.ts";

/** Options for {@link readOnce}. */
export interface ReadOptions {
  /** The API server's client. */
  client: KubeClient;
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
      return await waitingOut(() =>
        listCollection(
          options.client,
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
        ), { timeoutMs: options.timeoutMs, signal });
    } catch (error) {
      if (signal.aborted) throw error;
      failed.abort();
      throw readFailure(error, { reading, where: options.where });
    }
  }));
  for (const listing of listings) listing?.commit();
  return versions;
}

/**
 * Runs `list` again while the API server answers 429 or 5xx with
 * `Retry-After`, as kubectl (client-go's REST client) does up to ten
 * times: an API server shedding load asks for a second or so. The waits
 * stay within `timeoutMs`; one that would not is not begun.
 */
async function waitingOut(
  list: () => Promise<string>,
  options: { timeoutMs: number; signal: AbortSignal },
): Promise<string> {
  const deadline = Date.now() + options.timeoutMs;
  for (let retries = 0;; retries++) {
    try {
      return await list();
    } catch (error) {
      const asked = error instanceof ApiError &&
          (error.status === 429 || error.status >= 500)
        ? retryAfterMs(error.retryAfter, { maxMs: options.timeoutMs })
        : undefined;
      if (
        asked === undefined || retries === 10 ||
        Date.now() + asked > deadline || options.signal.aborted
      ) {
        throw error;
      }
      await delay(asked, options.signal);
    }
  }
}
