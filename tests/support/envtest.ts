/**
 * A real Kubernetes control plane for tests, the way controller-runtime's
 * envtest runs one: etcd plus kube-apiserver on loopback ports, a static
 * admin token, RBAC on, and the service-account token issuer configured so
 * tests can mint tokens for accounts with limited permissions.
 *
 * Binaries come from KUBEBUILDER_ASSETS when it holds kube-apiserver and
 * etcd, otherwise from tests/tools/ensure_assets.sh (built once from the Go
 * module proxy, cached under ~/.cache/dorgu-ws).
 */
import { delay } from "./server.ts";

const ROOT = new URL("../../", import.meta.url).pathname;
const ADMIN_TOKEN = "dorgu-ws-test-admin";

/** Directory holding kube-apiserver, etcd and helm. */
export async function assetsDir(): Promise<string> {
  const output = await new Deno.Command("bash", {
    args: [`${ROOT}tests/tools/ensure_assets.sh`],
    stdout: "piped",
    stderr: "inherit",
  }).output();
  if (!output.success) {
    throw new Error(
      "Building the Kubernetes test binaries failed (see above).",
    );
  }
  return new TextDecoder().decode(output.stdout).trim();
}

function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

function pem(label: string, der: ArrayBuffer): string {
  const base64 = btoa(String.fromCharCode(...new Uint8Array(der)));
  return `-----BEGIN ${label}-----\n${
    base64.match(/.{1,64}/g)?.join("\n")
  }\n-----END ${label}-----\n`;
}

/** A running control plane. */
export class Envtest {
  /** `https://127.0.0.1:PORT`. */
  readonly server: string;
  /** The API server's self-signed serving certificate, PEM. */
  caCert = "";
  /** A kubeconfig for the admin user (system:masters). */
  readonly kubeconfig: string;
  readonly #dir: string;
  readonly #assets: string;
  readonly #etcdPort: number;
  readonly #peerPort: number;
  readonly #apiPort: number;
  #etcd: Deno.ChildProcess | undefined;
  #apiserver: Deno.ChildProcess | undefined;
  #http: Deno.HttpClient | undefined;

  private constructor(dir: string, assets: string) {
    this.#dir = dir;
    this.#assets = assets;
    this.#etcdPort = freePort();
    this.#peerPort = freePort();
    this.#apiPort = freePort();
    this.server = `https://127.0.0.1:${this.#apiPort}`;
    this.kubeconfig = `${dir}/kubeconfig`;
  }

  /** Starts etcd and kube-apiserver and waits until the API is ready. */
  static async start(): Promise<Envtest> {
    const assets = await assetsDir();
    const dir = await Deno.makeTempDir({ prefix: "dorgu-ws-envtest-" });
    const env = new Envtest(dir, assets);
    const keys = await crypto.subtle.generateKey(
      { name: "ECDSA", namedCurve: "P-256" },
      true,
      ["sign", "verify"],
    );
    await Deno.writeTextFile(
      `${dir}/sa.key`,
      await pem(
        "PRIVATE KEY",
        await crypto.subtle.exportKey("pkcs8", keys.privateKey),
      ),
    );
    await Deno.writeTextFile(
      `${dir}/sa.pub`,
      await pem(
        "PUBLIC KEY",
        await crypto.subtle.exportKey("spki", keys.publicKey),
      ),
    );
    await Deno.writeTextFile(
      `${dir}/tokens.csv`,
      `${ADMIN_TOKEN},admin,admin-uid,"system:masters"\n`,
    );
    await Deno.mkdir(`${dir}/certs`);
    env.#startEtcd();
    await env.startApiserver();
    return env;
  }

  #startEtcd(): void {
    const client = `http://127.0.0.1:${this.#etcdPort}`;
    const peer = `http://127.0.0.1:${this.#peerPort}`;
    this.#etcd = new Deno.Command(`${this.#assets}/etcd`, {
      args: [
        "--data-dir",
        `${this.#dir}/etcd`,
        "--listen-client-urls",
        client,
        "--advertise-client-urls",
        client,
        "--listen-peer-urls",
        peer,
        "--initial-advertise-peer-urls",
        peer,
        "--initial-cluster",
        `default=${peer}`,
        "--unsafe-no-fsync",
        "--log-level",
        "error",
      ],
      stdout: "null",
      stderr: "null",
    }).spawn();
  }

  /** Starts (or restarts) kube-apiserver on the same port and waits for /readyz. */
  async startApiserver(): Promise<void> {
    this.#apiserver = new Deno.Command(`${this.#assets}/kube-apiserver`, {
      args: [
        `--etcd-servers=http://127.0.0.1:${this.#etcdPort}`,
        `--cert-dir=${this.#dir}/certs`,
        `--secure-port=${this.#apiPort}`,
        "--bind-address=127.0.0.1",
        "--advertise-address=127.0.0.1",
        "--endpoint-reconciler-type=none",
        "--service-cluster-ip-range=10.0.0.0/24",
        "--allow-privileged=true",
        "--authorization-mode=RBAC",
        `--token-auth-file=${this.#dir}/tokens.csv`,
        "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
        `--service-account-key-file=${this.#dir}/sa.pub`,
        `--service-account-signing-key-file=${this.#dir}/sa.key`,
        "--disable-admission-plugins=ServiceAccount",
        "--enable-priority-and-fairness=false",
        "--v=0",
      ],
      stdout: "null",
      stderr: "piped",
    }).spawn();
    const stderr: string[] = [];
    (async () => {
      for await (
        const chunk of this.#apiserver!.stderr.pipeThrough(
          new TextDecoderStream(),
        )
      ) {
        stderr.push(chunk);
        if (stderr.length > 200) stderr.shift();
      }
    })();
    const deadline = Date.now() + 90_000;
    let exited = false;
    this.#apiserver.status.then(() => exited = true);
    while (true) {
      if (Date.now() > deadline || exited) {
        throw new Error(
          `kube-apiserver did not become ready:\n${
            stderr.join("").slice(-3000)
          }`,
        );
      }
      try {
        this.caCert = await Deno.readTextFile(
          `${this.#dir}/certs/apiserver.crt`,
        );
        this.#http?.close();
        this.#http = Deno.createHttpClient({ caCerts: [this.caCert] });
        const response = await this.fetch("/readyz");
        await response.body?.cancel();
        if (response.ok) break;
      } catch {
        // Not up yet.
      }
      await delay(200);
    }
    await this.#writeKubeconfig(this.kubeconfig, { token: ADMIN_TOKEN });
  }

  /** Kills kube-apiserver (etcd keeps running). */
  async stopApiserver(): Promise<void> {
    if (!this.#apiserver) return;
    try {
      this.#apiserver.kill("SIGKILL");
    } catch {
      // Already gone.
    }
    await this.#apiserver.status;
    this.#apiserver = undefined;
  }

  /**
   * Compacts etcd's history up to its current revision, so a watch resumed
   * from any older resourceVersion gets 410 Gone.
   */
  async compactEtcd(): Promise<number> {
    const base = `http://127.0.0.1:${this.#etcdPort}/v3/kv`;
    const range = await fetch(`${base}/range`, {
      method: "POST",
      body: JSON.stringify({ key: btoa("/"), limit: 1 }),
    });
    const revision = Number((await range.json()).header.revision);
    const compact = await fetch(`${base}/compaction`, {
      method: "POST",
      body: JSON.stringify({ revision, physical: true }),
    });
    if (!compact.ok) {
      throw new Error(`etcd compaction failed: ${await compact.text()}`);
    }
    await compact.body?.cancel();
    return revision;
  }

  /** A request to the API server as the admin. */
  fetch(path: string, init: RequestInit = {}): Promise<Response> {
    return fetch(`${this.server}${path}`, {
      ...init,
      client: this.#http,
      headers: {
        authorization: `Bearer ${ADMIN_TOKEN}`,
        "content-type": "application/json",
        ...init.headers,
      },
    });
  }

  /** Sends a JSON request as the admin; throws on a non-2xx answer. */
  async api(
    method: string,
    path: string,
    body?: unknown,
  ): Promise<Record<string, unknown>> {
    const response = await this.fetch(path, {
      method,
      body: body === undefined ? undefined : JSON.stringify(body),
      headers: method === "PATCH"
        ? { "content-type": "application/merge-patch+json" }
        : {},
    });
    const text = await response.text();
    if (!response.ok) {
      throw new Error(`${method} ${path}: ${response.status} ${text}`);
    }
    return text ? JSON.parse(text) : {};
  }

  /** Creates every document of a multi-document YAML or JSON manifest. */
  async apply(objects: Record<string, unknown>[]): Promise<void> {
    for (const object of objects) {
      await this.api("POST", collectionOf(object), object);
    }
  }

  /**
   * Mints a token for a service account (creating the account) and writes
   * a kubeconfig for it. Returns the kubeconfig path.
   */
  async serviceAccountKubeconfig(
    namespace: string,
    name: string,
  ): Promise<string> {
    await this.ensureNamespace(namespace);
    await this.api("POST", `/api/v1/namespaces/${namespace}/serviceaccounts`, {
      metadata: { name },
    }).catch((error) => {
      if (!/AlreadyExists|409/.test(String(error))) throw error;
    });
    const request = await this.api(
      "POST",
      `/api/v1/namespaces/${namespace}/serviceaccounts/${name}/token`,
      {
        apiVersion: "authentication.k8s.io/v1",
        kind: "TokenRequest",
        spec: { expirationSeconds: 3600 },
      },
    );
    const token = (request.status as { token: string }).token;
    const path = `${this.#dir}/kubeconfig-${namespace}-${name}`;
    await this.#writeKubeconfig(path, { token });
    return path;
  }

  /** Creates a namespace unless it exists. */
  async ensureNamespace(name: string): Promise<void> {
    await this.api("POST", "/api/v1/namespaces", { metadata: { name } }).catch(
      (error) => {
        if (!/AlreadyExists|409/.test(String(error))) throw error;
      },
    );
  }

  async #writeKubeconfig(path: string, user: { token: string }): Promise<void> {
    await Deno.writeTextFile(
      path,
      JSON.stringify({
        apiVersion: "v1",
        kind: "Config",
        clusters: [{
          name: "envtest",
          cluster: {
            server: this.server,
            "certificate-authority-data": btoa(this.caCert),
          },
        }],
        users: [{ name: "user", user: { token: user.token } }],
        contexts: [{
          name: "envtest",
          context: { cluster: "envtest", user: "user" },
        }],
        "current-context": "envtest",
      }),
    );
  }

  /** Stops everything and removes the temporary directory. */
  async stop(): Promise<void> {
    await this.stopApiserver();
    if (this.#etcd) {
      try {
        this.#etcd.kill("SIGKILL");
      } catch {
        // Already gone.
      }
      await this.#etcd.status;
    }
    this.#http?.close();
    await Deno.remove(this.#dir, { recursive: true }).catch(() => {});
  }
}

const CORE = new Set([
  "Namespace",
  "ServiceAccount",
  "Event",
  "ConfigMap",
  "Service",
  "Secret",
]);
const CLUSTER_SCOPED = new Set([
  "Namespace",
  "ClusterPersona",
  "CustomResourceDefinition",
  "ClusterRole",
  "ClusterRoleBinding",
]);

/** The collection path a manifest is created in. */
export function collectionOf(object: Record<string, unknown>): string {
  const apiVersion = String(object.apiVersion);
  const kind = String(object.kind);
  const metadata = (object.metadata ?? {}) as { namespace?: string };
  const base = CORE.has(kind) && apiVersion === "v1"
    ? "/api/v1"
    : `/apis/${apiVersion}`;
  const plural = kind.toLowerCase().endsWith("y")
    ? `${kind.toLowerCase().slice(0, -1)}ies`
    : `${kind.toLowerCase()}s`;
  if (CLUSTER_SCOPED.has(kind)) return `${base}/${plural}`;
  return `${base}/namespaces/${metadata.namespace ?? "default"}/${plural}`;
}
