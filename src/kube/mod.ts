/**
 * The Kubernetes side: credentials (kubeconfigs, exec plugins, the oidc
 * auth-provider, a pod's service account), requests on `fetch`, paged
 * lists, the watch-stream decoder and list/watch informers. Imported only
 * by the Kubernetes source and the in-process server of laptop mode.
 *
 * @module
 */
export * from "./config.ts";
export * from "./client.ts";
export * from "./watch.ts";
export * from "./informer.ts";
export * from "./list.ts";
export * from "./retry_policy.ts";
