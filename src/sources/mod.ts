/**
 * Sources turn Kubernetes objects into events: the store a source fills,
 * the derivation of events from its changes, the queries over it, and the
 * directory source. The Kubernetes source lives in `kubernetes.ts` and is
 * loaded only when used.
 *
 * @module
 */
export * from "./resources.ts";
export * from "./fields.ts";
export * from "./projections.ts";
export * from "./change.ts";
export * from "./sink.ts";
export * from "./readiness.ts";
export * from "./store.ts";
export * from "./app_index.ts";
export * from "./personas.ts";
export * from "./cluster_personas.ts";
export * from "./deployments.ts";
export * from "./events.ts";
export * from "./queries.ts";
export * from "./state.ts";
export * from "./manifest_files.ts";
export * from "./manifests.ts";
export * from "./directory.ts";
export * from "./source.ts";
