/**
 * A Kubernetes API client for a fake API server on plain HTTP: no
 * kubeconfig, no credentials, no TLS; and the kubeconfig a user would have
 * for a cluster of one server.
 */
import { KubeClient } from "../../src/kube/client.ts";

/** A client for the API server at `server` (`http://127.0.0.1:PORT`). */
export function plainKubeClient(server: string, describe = "fake"): KubeClient {
  return new KubeClient({
    load: () =>
      Promise.resolve({
        server,
        headers: {},
        caCerts: [],
        insecure: false,
        describe,
      }),
  });
}

/**
 * A kubeconfig (to write as YAML or JSON) with one cluster, one user and
 * one context of the two, which is current. The cluster is named as the
 * context unless `names.cluster` says otherwise.
 */
export function oneContextKubeconfig(
  entries: { cluster: Record<string, unknown>; user: Record<string, unknown> },
  names: { context: string; user: string; cluster?: string },
): Record<string, unknown> {
  const cluster = names.cluster ?? names.context;
  return {
    apiVersion: "v1",
    kind: "Config",
    clusters: [{ name: cluster, cluster: entries.cluster }],
    users: [{ name: names.user, user: entries.user }],
    contexts: [{
      name: names.context,
      context: { cluster, user: names.user },
    }],
    "current-context": names.context,
  };
}
