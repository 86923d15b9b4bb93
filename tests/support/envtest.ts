/**
 * A real Kubernetes control plane for tests, the way controller-runtime's
 * envtest runs one: etcd plus kube-apiserver on loopback ports, a static
 * admin token, RBAC on, and the service-account token issuer configured so
 * tests can mint tokens for accounts with limited permissions.
 *
 * Binaries come from KUBEBUILDER_ASSETS when it holds kube-apiserver and
 * etcd, otherwise from tests/tools/ensure_assets.sh (built once from the Go
 * module proxy, under a lock, cached under ~/.cache/dorgu-ws).
 */
import { loadAll } from "js-yaml";
import { createCa, issueCertificate, type TestCa } from "./certs.ts";
import { oneContextKubeconfig } from "./kube_client.ts";
import { ensureAssets } from "../tools/setup.ts";
import { delay } from "./server.ts";

const ROOT = new URL("../../", import.meta.url).pathname;
const ADMIN_TOKEN = "dorgu-ws-test-admin";

/**
 * Directory holding kube-apiserver, etcd and helm: built once, under a lock,
 * by the test set-up (tests/tools/setup.ts), which `deno task test` runs
 * before any test file.
 */
export function assetsDir(): Promise<string> {
  return ensureAssets();
}

/** The project's CRDs for ApplicationPersona and ClusterPersona. */
export async function crdManifests(): Promise<Record<string, unknown>[]> {
  return loadAll(
    await Deno.readTextFile(`${ROOT}examples/crds/dorgu.io.yaml`),
  ) as Record<string, unknown>[];
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

/** One kube-apiserver process and an admin client for it. */
export class Apiserver {
  /** `https://127.0.0.1:PORT`. */
  readonly server: string;
  /** Its self-signed serving certificate, PEM. */
  caCert = "";
  readonly #args: string[];
  readonly #binary: string;
  readonly #certDir: string;
  #process: Deno.ChildProcess | undefined;
  #http: Deno.HttpClient | undefined;

  /** Prepares an apiserver; `start` runs it. */
  constructor(binary: string, args: string[], certDir: string) {
    const port = freePort();
    this.server = `https://127.0.0.1:${port}`;
    this.#binary = binary;
    this.#certDir = certDir;
    this.#args = [...args, `--cert-dir=${certDir}`, `--secure-port=${port}`];
  }

  /** Starts the process (with `extraArgs`, if any) and waits for /readyz. */
  async start(extraArgs: string[] = []): Promise<void> {
    await Deno.mkdir(this.#certDir, { recursive: true });
    const child = new Deno.Command(this.#binary, {
      args: [...this.#args, ...extraArgs],
      stdout: "null",
      stderr: "piped",
    }).spawn();
    this.#process = child;
    const stderr: string[] = [];
    (async () => {
      for await (
        const chunk of child.stderr.pipeThrough(new TextDecoderStream())
      ) {
        stderr.push(chunk);
        if (stderr.length > 200) stderr.shift();
      }
    })();
    let exited = false;
    child.status.then(() => exited = true);
    const deadline = Date.now() + 90_000;
    while (true) {
      if (Date.now() > deadline || exited) {
        throw new Error(
          `kube-apiserver did not become ready:\n${
            stderr.join("").slice(-3000)
          }`,
        );
      }
      try {
        this.caCert = await Deno.readTextFile(`${this.#certDir}/apiserver.crt`);
        this.#http?.close();
        this.#http = Deno.createHttpClient({ caCerts: [this.caCert] });
        const response = await this.fetch("/readyz");
        await response.body?.cancel();
        if (response.ok) return;
      } catch {
        // Not up yet.
      }
      await delay(200);
    }
  }

  /** Sends `signal` to the process: SIGSTOP freezes it, SIGCONT thaws it. */
  signal(signal: Deno.Signal): void {
    this.#process?.kill(signal);
  }

  /** Kills the process. */
  async stop(): Promise<void> {
    const child = this.#process;
    this.#process = undefined;
    if (!child) return;
    try {
      child.kill("SIGKILL");
    } catch {
      // Already gone.
    }
    await child.status;
  }

  /** A request as the admin. */
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

  /** A JSON request as the admin; throws on a non-2xx answer. */
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

  /** Releases the client. */
  close(): void {
    this.#http?.close();
  }
}

/** etcd and a kube-apiserver (plus, on demand, more apiservers on the same etcd). */
export class Envtest {
  /** The apiserver dorgu-ws is pointed at. */
  readonly primary: Apiserver;
  /** A kubeconfig for the admin user (system:masters) on the primary. */
  readonly kubeconfig: string;
  readonly #dir: string;
  readonly #assets: string;
  readonly #clientCa: TestCa;
  readonly #etcdPort = freePort();
  readonly #peerPort = freePort();
  #etcd: Deno.ChildProcess | undefined;
  #others: Apiserver[] = [];

  private constructor(dir: string, assets: string, clientCa: TestCa) {
    this.#dir = dir;
    this.#clientCa = clientCa;
    this.#assets = assets;
    this.kubeconfig = `${dir}/kubeconfig`;
    this.primary = this.#apiserver("primary");
  }

  /** Starts etcd and the primary apiserver and waits until the API is ready. */
  static async start(): Promise<Envtest> {
    const assets = await assetsDir();
    const dir = await Deno.makeTempDir({ prefix: "dorgu-ws-envtest-" });
    const keys = await crypto.subtle.generateKey(
      { name: "ECDSA", namedCurve: "P-256" },
      true,
      ["sign", "verify"],
    );
    await Deno.writeTextFile(
      `${dir}/sa.key`,
      pem(
        "PRIVATE KEY",
        await crypto.subtle.exportKey("pkcs8", keys.privateKey),
      ),
    );
    await Deno.writeTextFile(
      `${dir}/sa.pub`,
      pem("PUBLIC KEY", await crypto.subtle.exportKey("spki", keys.publicKey)),
    );
    await Deno.writeTextFile(
      `${dir}/tokens.csv`,
      `${ADMIN_TOKEN},admin,admin-uid,"system:masters"\n`,
    );
    // A CA the apiserver trusts for client certificates.
    const clientCa = await createCa(dir, "client-ca");
    const env = new Envtest(dir, assets, clientCa);
    env.#startEtcd();
    await env.primary.start();
    await env.writeKubeconfig(env.kubeconfig, { token: ADMIN_TOKEN });
    return env;
  }

  #apiserver(name: string): Apiserver {
    const args = [
      `--etcd-servers=http://127.0.0.1:${this.#etcdPort}`,
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
    ];
    args.push(`--client-ca-file=${this.#dir}/client-ca.crt`);
    return new Apiserver(
      `${this.#assets}/kube-apiserver`,
      args,
      `${this.#dir}/certs-${name}`,
    );
  }

  /**
   * Starts another apiserver on the same etcd: changes made through it
   * happen while dorgu-ws, pointed at the stopped primary, cannot see them.
   */
  async startSecondary(): Promise<Apiserver> {
    const apiserver = this.#apiserver(`secondary-${this.#others.length}`);
    this.#others.push(apiserver);
    await apiserver.start();
    return apiserver;
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

  /** Admin JSON request to the primary. */
  api(
    method: string,
    path: string,
    body?: unknown,
  ): Promise<Record<string, unknown>> {
    return this.primary.api(method, path, body);
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

  /** Creates each object (through the primary). */
  async apply(objects: Record<string, unknown>[]): Promise<void> {
    for (const object of objects) {
      await this.api("POST", collectionOf(object), object);
    }
  }

  /** Installs the dorgu CRDs and waits until they are served. */
  async installCrds(): Promise<void> {
    await this.#installCrds(await crdManifests());
  }

  /**
   * Installs the Prometheus Operator's real ServiceMonitor and
   * PrometheusRule CRDs (fetched by ensure_assets.sh) and waits until they
   * are served.
   */
  async installPrometheusOperatorCrds(): Promise<void> {
    const dir = `${this.#assets}/prometheus-operator-crds`;
    const crds: Record<string, unknown>[] = [];
    for await (const entry of Deno.readDir(dir)) {
      if (!entry.name.endsWith(".yaml")) continue;
      crds.push(
        ...loadAll(await Deno.readTextFile(`${dir}/${entry.name}`)) as Record<
          string,
          unknown
        >[],
      );
    }
    await this.#installCrds(crds);
  }

  async #installCrds(crds: Record<string, unknown>[]): Promise<void> {
    await this.apply(crds);
    for (const crd of crds) {
      const spec = crd.spec as {
        group: string;
        names: { plural: string };
        versions: { name: string; served: boolean }[];
      };
      const version = spec.versions.find((v) => v.served)?.name;
      const path = `/apis/${spec.group}/${version}/${spec.names.plural}`;
      const deadline = Date.now() + 20_000;
      while (true) {
        const response = await this.primary.fetch(path);
        await response.body?.cancel();
        if (response.ok) break;
        if (Date.now() > deadline) {
          throw new Error(`The ${spec.names.plural} CRD is not served.`);
        }
        await delay(100);
      }
    }
  }

  /**
   * Mints a token for a service account (creating the account, and binding
   * it to `clusterRole` if given) and writes a kubeconfig for it. Returns
   * the kubeconfig path and the token.
   */
  async serviceAccount(
    namespace: string,
    name: string,
    options: { clusterRole?: string } = {},
  ): Promise<{ kubeconfig: string; token: string }> {
    await this.ensureNamespace(namespace);
    await this.api("POST", `/api/v1/namespaces/${namespace}/serviceaccounts`, {
      metadata: { name },
    }).catch((error) => {
      if (!/AlreadyExists/.test(String(error))) throw error;
    });
    if (options.clusterRole) {
      await this.api(
        "POST",
        "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings",
        {
          metadata: { name: `${namespace}-${name}-${options.clusterRole}` },
          roleRef: {
            apiGroup: "rbac.authorization.k8s.io",
            kind: "ClusterRole",
            name: options.clusterRole,
          },
          subjects: [{ kind: "ServiceAccount", namespace, name }],
        },
      );
    }
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
    const kubeconfig = `${this.#dir}/kubeconfig-${namespace}-${name}`;
    await this.writeKubeconfig(kubeconfig, { token });
    return { kubeconfig, token };
  }

  /** A client certificate and key (PEM) for `user` in `group`, signed by the client CA. */
  async clientCertificate(
    user: string,
    group: string,
  ): Promise<{ cert: string; key: string }> {
    const { cert, key } = await issueCertificate(
      this.#clientCa,
      `client-${user}`,
      {
        subject: `/O=${group}/CN=${user}`,
        extensions:
          "basicConstraints=CA:FALSE\nkeyUsage=digitalSignature\nextendedKeyUsage=clientAuth\n",
      },
    );
    return { cert, key };
  }

  /** Creates a namespace unless it exists. */
  async ensureNamespace(name: string): Promise<void> {
    await this.api("POST", "/api/v1/namespaces", { metadata: { name } }).catch(
      (error) => {
        if (!/AlreadyExists/.test(String(error))) throw error;
      },
    );
  }

  /** A temporary directory that lives as long as the environment. */
  get dir(): string {
    return this.#dir;
  }

  /** Writes a kubeconfig for the primary with the given user entry. */
  async writeKubeconfig(
    path: string,
    user: Record<string, unknown>,
    cluster: Record<string, unknown> = {},
  ): Promise<void> {
    await Deno.writeTextFile(
      path,
      JSON.stringify(oneContextKubeconfig({
        cluster: {
          server: this.primary.server,
          "certificate-authority-data": btoa(this.primary.caCert),
          ...cluster,
        },
        user,
      }, { context: "envtest", user: "user" })),
    );
  }

  /**
   * Writes a kubeconfig whose user is an exec credential plugin: a script
   * that appends a line to `marker` each time it runs and prints an
   * ExecCredential holding `token`.
   */
  async writeExecKubeconfig(
    path: string,
    options: { token: string; marker: string },
  ): Promise<void> {
    const plugin = `${path}.plugin`;
    await Deno.writeTextFile(
      plugin,
      `#!/bin/sh\necho ran >> ${options.marker}\ncat <<'EOF'\n${
        JSON.stringify({
          apiVersion: "client.authentication.k8s.io/v1",
          kind: "ExecCredential",
          status: { token: options.token },
        })
      }\nEOF\n`,
    );
    await Deno.chmod(plugin, 0o755);
    await this.writeKubeconfig(path, {
      exec: {
        apiVersion: "client.authentication.k8s.io/v1",
        command: plugin,
        interactiveMode: "Never",
      },
    });
  }

  /** Stops everything and removes the temporary directory. */
  async stop(): Promise<void> {
    for (const apiserver of [this.primary, ...this.#others]) {
      await apiserver.stop();
      apiserver.close();
    }
    if (this.#etcd) {
      try {
        this.#etcd.kill("SIGKILL");
      } catch {
        // Already gone.
      }
      await this.#etcd.status;
    }
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
  const lower = kind.toLowerCase();
  const plural = lower.endsWith("y") ? `${lower.slice(0, -1)}ies` : `${lower}s`;
  if (CLUSTER_SCOPED.has(kind)) return `${base}/${plural}`;
  return `${base}/namespaces/${metadata.namespace ?? "default"}/${plural}`;
}
