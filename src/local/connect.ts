/**
 * The user's way into the cluster: a kubeconfig context, read as kubectl
 * reads it, and a client for its API server. Credentials are loaded once
 * up front, so a missing kubeconfig, an unknown context or a failing
 * credential plugin is one line before anything is asked of the API
 * server, and again before every later request (rotated tokens, exec
 * plugins near expiry).
 *
 * @module
 */
import { redactUrl } from "../redact.ts";
import { KubeClient } from "../kube/client.ts";
import { CredentialLoader } from "../kube/config.ts";
import { kubeconfigFiles, readKubeconfig } from "../kube/kubeconfig.ts";
import { LocalError, type Where } from "./errors.ts";

/** Which cluster: a kubeconfig context, a kubeconfig file, or both. */
export interface ClusterChoice {
  /** A context; default the kubeconfig's current one. */
  context?: string;
  /** A kubeconfig file; default `$KUBECONFIG` (merged), then `~/.kube/config`. */
  kubeconfig?: string;
}

/**
 * A client for the chosen cluster's API server, and where it goes;
 * `timeoutMs` bounds a credential plugin's run (without the terminal).
 */
export async function connectCluster(
  choice: ClusterChoice,
  options: { timeoutMs?: number } = {},
): Promise<{ client: KubeClient; where: Where }> {
  const credentials = new CredentialLoader({
    kubeconfig: choice.kubeconfig,
    context: choice.context,
    inCluster: false,
    // A plugin nobody can answer gets the command's --timeout.
    execTimeoutMs: options.timeoutMs,
  });
  let where: Where;
  try {
    const access = await credentials.load();
    where = { server: redactUrl(access.server), describe: access.describe };
  } catch (error) {
    throw new LocalError((error as Error).message);
  }
  return { client: new KubeClient(credentials), where };
}

/** The contexts of the kubeconfig kubectl would read, for completion. */
export async function contextNames(): Promise<string[]> {
  const config = await readKubeconfig(kubeconfigFiles());
  return [...config.contexts.keys()];
}
