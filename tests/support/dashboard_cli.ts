/**
 * `dorgu-ws dashboard` as a user runs it, for tests and the benchmark: a
 * subprocess run as the binary runs, whose URL is read from its stdout as
 * a user reads it; and the kubeconfigs and RBAC the tests give it.
 *
 * @module
 */
import { Envtest } from "./envtest.ts";
import { type CliProcess, spawnCli } from "./proc.ts";

/** A running dashboard and what it printed. */
export interface DashboardProcess extends AsyncDisposable {
  /** The process, its output so far. */
  process: CliProcess;
  /** The printed URL, secret included. */
  url: string;
  /** `http://127.0.0.1:PORT`. */
  base: string;
  /** The port. */
  port: number;
  /** The secret in the URL's fragment. */
  secret: string;
}

/** The line that carries the URL, as `dorgu-ws dashboard` prints it. */
export const URL_LINE = /^\s+(http:\/\/\S+\/#secret=([A-Za-z0-9_-]+))$/;

/**
 * Starts `dorgu-ws dashboard ARGS` and waits for its URL; throws with its
 * output when it exits first.
 */
export async function spawnDashboard(
  args: string[],
  options: {
    env?: Record<string, string>;
    binary?: string;
    timeoutMs?: number;
  } = {},
): Promise<DashboardProcess> {
  const process = spawnCli(["dashboard", ...args], options);
  const exited = process.status.then((status) => {
    throw new Error(
      `dorgu-ws dashboard exited with ${status.code} before printing its URL:\n${
        [...process.stdout, ...process.stderr].join("\n")
      }`,
    );
  });
  const [line] = await Promise.race([
    process.waitFor((l) => URL_LINE.test(l), {
      timeoutMs: options.timeoutMs ?? 30_000,
    }),
    exited,
  ]);
  exited.catch(() => {});
  const [, url, secret] = URL_LINE.exec(line) as RegExpExecArray;
  const parsed = new URL(url);
  return {
    process,
    url,
    base: parsed.origin,
    port: Number(parsed.port),
    secret,
    [Symbol.asyncDispose]: async () => {
      await process.stop("SIGTERM");
    },
  };
}

/** GETs `path` with the secret as a bearer token; the status and body. */
export async function readWithSecret(
  dashboard: DashboardProcess,
  path: string,
): Promise<{ status: number; body: string }> {
  const response = await fetch(`${dashboard.base}${path}`, {
    headers: { authorization: `Bearer ${dashboard.secret}` },
  });
  return { status: response.status, body: await response.text() };
}

/**
 * A test API server with the dorgu CRDs, namespaces team-a and team-b, and
 * `objects` created.
 */
export async function teamCluster(
  objects: Record<string, unknown>[],
): Promise<Envtest> {
  const env = await Envtest.start();
  await env.installCrds();
  await env.ensureNamespace("team-a");
  await env.ensureNamespace("team-b");
  await env.apply(objects);
  return env;
}

/** The ClusterRole a namespaced reader also needs: ClusterPersonas. */
const CLUSTER_READER = {
  apiVersion: "rbac.authorization.k8s.io/v1",
  kind: "ClusterRole",
  metadata: { name: "dorgu-clusterpersona-reader" },
  rules: [{
    apiGroups: ["dorgu.io"],
    resources: ["clusterpersonas"],
    verbs: ["get", "list", "watch"],
  }],
};

/**
 * A service account allowed to read personas, Deployments and Events in
 * `namespace` only (and ClusterPersonas); its token's kubeconfig.
 */
export async function namespaceReader(
  env: Envtest,
  namespace: string,
  name: string,
  options: { verbs?: string[] } = {},
): Promise<string> {
  const verbs = options.verbs ?? ["get", "list", "watch"];
  const { kubeconfig } = await env.serviceAccount(namespace, name);
  const rbac = "/apis/rbac.authorization.k8s.io/v1";
  await env.api("POST", `${rbac}/clusterroles`, CLUSTER_READER).catch(
    (error) => {
      if (!/AlreadyExists/.test(String(error))) throw error;
    },
  );
  const subjects = [{ kind: "ServiceAccount", namespace, name }];
  await env.api("POST", `${rbac}/clusterrolebindings`, {
    metadata: { name: `${namespace}-${name}-clusterpersonas` },
    roleRef: {
      apiGroup: "rbac.authorization.k8s.io",
      kind: "ClusterRole",
      name: CLUSTER_READER.metadata.name,
    },
    subjects,
  });
  const role = `${name}-dorgu-reader`;
  await env.api("POST", `${rbac}/namespaces/${namespace}/roles`, {
    metadata: { name: role },
    rules: [
      { apiGroups: ["dorgu.io"], resources: ["applicationpersonas"], verbs },
      { apiGroups: ["apps"], resources: ["deployments"], verbs },
      { apiGroups: [""], resources: ["events"], verbs },
    ],
  });
  await env.api("POST", `${rbac}/namespaces/${namespace}/rolebindings`, {
    metadata: { name: role },
    roleRef: {
      apiGroup: "rbac.authorization.k8s.io",
      kind: "Role",
      name: role,
    },
    subjects,
  });
  return kubeconfig;
}

/** A kubeconfig whose user is an admin client certificate. */
export async function adminCertificateKubeconfig(
  env: Envtest,
): Promise<string> {
  const { cert, key } = await env.clientCertificate("alice", "system:masters");
  const path = `${env.dir}/kubeconfig-alice`;
  await env.writeKubeconfig(path, {
    "client-certificate-data": btoa(cert),
    "client-key-data": btoa(key),
  });
  return path;
}
