import type { Logger } from "../log.ts";
import type { Source } from "./source.ts";
import type { ClusterState } from "./state.ts";

/** Options for {@link ClusterSource}. */
export interface ClusterSourceOptions {
  /** Kubeconfig path. */
  kubeconfig?: string;
  /** Kubeconfig context. */
  context?: string;
  /** Namespaces to watch; empty for all. */
  namespaces: string[];
  /** Structured log. */
  log: Logger;
}

/** Follows a Kubernetes cluster. */
export class ClusterSource implements Source {
  /** Creates the source. */
  constructor(_state: ClusterState, _options: ClusterSourceOptions) {}

  /** Not available in this build. */
  start(): Promise<void> {
    return Promise.reject(
      new Error(
        "The Kubernetes source is not available in this build yet; pass --source with a directory of manifests.",
      ),
    );
  }

  /** Nothing to stop. */
  stop(): void {}
}
