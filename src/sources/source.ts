/**
 * The contract between the store and what feeds it: the Kubernetes
 * watches, or a directory of manifests.
 *
 * @module
 */
import type { Resource } from "./resources.ts";

/** Watch counters of one resource, for `/metrics`. */
export interface WatchStats {
  /** Watches that ended and were started again. */
  restarts: number;
  /** Full listings after the first (410 Gone, errors, reconnects). */
  relists: number;
  /** Watch lines that were not valid JSON or not a watch event. */
  decodeErrors: number;
}

/** Something that feeds the store (`store.ts`) from the outside world. */
export interface Source {
  /** Starts feeding; resolves once set up (not necessarily synced). */
  start(): Promise<void>;
  /** Stops feeding. */
  stop(): void;
  /** Watch counters per resource, when the source watches an API. */
  watchStats?(): Map<Resource, WatchStats>;
}
