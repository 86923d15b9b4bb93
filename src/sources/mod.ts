/**
 * Sources turn cluster objects into events: the projection cache and event
 * derivation every source shares, and the directory source. The Kubernetes
 * source lives in `cluster.ts` and is loaded only when used.
 *
 * @module
 */
export * from "./resources.ts";
export * from "./projections.ts";
export * from "./state.ts";
export * from "./directory.ts";
export * from "./source.ts";
