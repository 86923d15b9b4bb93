/**
 * The Kubernetes side: credentials (via @kubernetes/client-node), requests
 * on `fetch`, the watch-stream decoder and list/watch informers. Imported
 * only by the Kubernetes source.
 *
 * @module
 */
export * from "./config.ts";
export * from "./client.ts";
export * from "./watch.ts";
export * from "./informer.ts";
export * from "./retry_policy.ts";
