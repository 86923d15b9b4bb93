/**
 * Kubeconfig users with an `auth-provider` (oidc, azure, gcp), handed to
 * @kubernetes/client-node, which implements their token refresh. The
 * library is large (about a quarter of a second to load), so it is loaded
 * only for such a user; every other form of credential is read by
 * config.ts itself.
 *
 * @module
 */
import "./node_compat.ts";
import { KubeConfig } from "@kubernetes/client-node";

/** The headers an auth provider adds, refreshed as the library sees fit. */
export class AuthProvider {
  #config: KubeConfig;

  /**
   * Loads `files` (merged as kubectl merges them) into the library, with
   * `context` current.
   */
  constructor(files: string[], context: string) {
    const config = new KubeConfig();
    config.loadFromFile(files[0]);
    for (const file of files.slice(1)) {
      const next = new KubeConfig();
      next.loadFromFile(file);
      mergeLikeKubectl(config, next);
    }
    config.setCurrentContext(context);
    this.#config = config;
  }

  /** The current headers: `authorization`, and whatever else it sets. */
  async headers(): Promise<Record<string, string>> {
    const applied: { headers?: Record<string, string> } = {};
    await this.#config.applyToHTTPSOptions(applied as never);
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(applied.headers ?? {})) {
      headers[name.toLowerCase()] = String(value);
    }
    return headers;
  }
}

/**
 * Merges `next` into `config` the way kubectl merges KUBECONFIG files: the
 * first file to name a cluster, user or context wins, and so does the first
 * file with a current-context.
 */
function mergeLikeKubectl(config: KubeConfig, next: KubeConfig): void {
  if (!config.currentContext && next.currentContext) {
    config.setCurrentContext(next.currentContext);
  }
  const has = (list: { name: string }[], name: string) =>
    list.some((item) => item.name === name);
  for (const cluster of next.clusters) {
    if (!has(config.clusters, cluster.name)) config.addCluster(cluster);
  }
  for (const user of next.users) {
    if (!has(config.users, user.name)) config.addUser(user);
  }
  for (const context of next.contexts) {
    if (!has(config.contexts, context.name)) config.addContext(context);
  }
}
