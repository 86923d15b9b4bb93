/**
 * A Kubernetes API client for a fake API server on plain HTTP: no
 * kubeconfig, no credentials, no TLS.
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
