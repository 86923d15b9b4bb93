/**
 * Supplies `node:worker_threads.markAsUncloneable` where the runtime lacks
 * it (Deno before 2.8): undici, which @kubernetes/client-node loads, calls
 * it while being imported. The tested binary is built on Deno 2.7 (see the
 * README's Packaging section). Marking an object uncloneable only makes
 * `structuredClone` refuse it, which nothing in dorgu-ws relies on, so a
 * no-op is enough. Imported before the library; does nothing on 2.8+.
 *
 * @module
 */
import workerThreads from "node:worker_threads";

if (typeof workerThreads.markAsUncloneable !== "function") {
  Object.assign(workerThreads, { markAsUncloneable() {} });
}
