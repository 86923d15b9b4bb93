/**
 * A small cluster for the laptop-mode tests, and the kubeconfigs a user
 * would have for it: an admin client certificate (YAML, with certificate
 * files beside it, as kubeadm writes them), a service account that may
 * read only one namespace, and an exec credential plugin.
 */
import { dump } from "js-yaml";
import {
  clusterPersona,
  deployment,
  kubeEvent,
  LEAST_RULES,
  patchStatus,
  persona,
} from "./cluster_objects.ts";
import { Envtest } from "./envtest.ts";
import { oneContextKubeconfig } from "./kube_client.ts";
import { type ServerProcess, spawnServer, waitReady } from "./server.ts";

const PERSONAS = "/apis/dorgu.io/v1/namespaces";

/** A seeded cluster, its admin's certificate kubeconfig, and a server of it. */
export interface LaptopCluster {
  /** etcd and the kube-apiserver. */
  env: Envtest;
  /** The admin's kubeconfig: a client certificate, YAML, files beside it. */
  admin: string;
  /** `dorgu-ws serve` of the same cluster, for comparisons. */
  served: ServerProcess;
  /** Its WebSocket URL. */
  url: string;
}

/** Starts a cluster, seeds it, and serves it with `dorgu-ws serve`. */
export async function startLaptopCluster(): Promise<LaptopCluster> {
  const env = await Envtest.start();
  await seedCluster(env);
  const admin = await certificateKubeconfig(env);
  const served = await spawnServer(["--kubeconfig", env.kubeconfig]);
  await waitReady(`http://127.0.0.1:${served.port}`);
  return { env, admin, served, url: `ws://127.0.0.1:${served.port}/ws` };
}

/** Personas, a ClusterPersona, Deployments and Events in team-a and team-b. */
export async function seedCluster(env: Envtest): Promise<void> {
  await env.installCrds();
  for (const namespace of ["team-a", "team-b"]) {
    await env.ensureNamespace(namespace);
  }
  const statuses: [string, string, Record<string, unknown>][] = [
    ["team-a", "orders", {
      phase: "Active",
      health: { status: "Healthy" },
      validation: { passed: true, issues: [] },
    }],
    ["team-a", "payments", {
      phase: "Degraded",
      health: { status: "Degraded" },
      validation: {
        passed: false,
        issues: [
          { severity: "error", message: "replicas below minimum" },
          { severity: "warning", message: "runAsNonRoot not enforced" },
        ],
      },
    }],
    ["team-b", "search", { phase: "Failed", health: { status: "Unhealthy" } }],
    ["team-b", "orders", { phase: "Pending", health: { status: "Unknown" } }],
  ];
  await env.apply([
    ...statuses.map(([namespace, name]) =>
      persona(namespace, name, {
        spec: name === "search" ? { type: "worker", tier: "standard" } : {},
      })
    ),
    clusterPersona("lab", {}),
    deployment("team-a", "orders"),
    deployment("team-b", "search", { replicas: 2 }),
    kubeEvent("team-a", "payments-1.17c1", {
      involved: "payments-7d9f8b6c4-x2kqp",
      reason: "BackOff",
    }),
    kubeEvent("team-b", "search-1.17c2", {
      involved: "search-6f5d4c3b2-9xk2m",
      reason: "FailedScheduling",
    }),
  ]);
  for (const [namespace, name, status] of statuses) {
    await patchStatus(
      env.primary,
      `${PERSONAS}/${namespace}/applicationpersonas/${name}`,
      status,
    );
  }
  await patchStatus(env.primary, "/apis/dorgu.io/v1/clusterpersonas/lab", {
    phase: "Ready",
    kubernetesVersion: "v1.37.2",
    platform: "kind",
    applicationCount: 4,
    nodes: [{ name: "n1" }],
  });
}

/**
 * A kubeconfig for the admin (system:masters) by client certificate, in
 * YAML, the certificate and key in files beside it named relative to it.
 */
export async function certificateKubeconfig(env: Envtest): Promise<string> {
  const { cert, key } = await env.clientCertificate("laptop", "system:masters");
  const dir = `${env.dir}/laptop-cert`;
  await Deno.mkdir(dir, { recursive: true });
  await Deno.writeTextFile(`${dir}/admin.crt`, cert);
  await Deno.writeTextFile(`${dir}/admin.key`, key);
  await Deno.writeTextFile(`${dir}/ca.crt`, env.primary.caCert);
  const path = `${dir}/config`;
  await Deno.writeTextFile(
    path,
    dump(oneContextKubeconfig({
      cluster: {
        server: env.primary.server,
        "certificate-authority": "ca.crt",
      },
      user: { "client-certificate": "admin.crt", "client-key": "admin.key" },
    }, { context: "lab-admin", user: "lab-admin", cluster: "lab" })),
  );
  return path;
}

/**
 * A service account `reader` in `namespace` that may get, list and watch
 * the four resources there and nothing else; its kubeconfig.
 */
export async function namespaceReader(
  env: Envtest,
  namespace: string,
): Promise<string> {
  await env.api(
    "POST",
    "/apis/rbac.authorization.k8s.io/v1/clusterroles",
    { metadata: { name: "dorgu-reader" }, rules: LEAST_RULES },
  ).catch((error) => {
    if (!/AlreadyExists/.test(String(error))) throw error;
  });
  await env.api(
    "POST",
    `/apis/rbac.authorization.k8s.io/v1/namespaces/${namespace}/rolebindings`,
    {
      metadata: { name: "reader" },
      roleRef: {
        apiGroup: "rbac.authorization.k8s.io",
        kind: "ClusterRole",
        name: "dorgu-reader",
      },
      subjects: [{ kind: "ServiceAccount", namespace, name: "reader" }],
    },
  );
  return (await env.serviceAccount(namespace, "reader")).kubeconfig;
}

let plugins = 0;

/**
 * A kubeconfig whose user runs an exec plugin: a shell script (named
 * relative to the kubeconfig, with args and env) that prints an
 * ExecCredential of `apiVersion` with a cluster-admin token, and notes each
 * run in `ran`.
 */
export async function execKubeconfig(
  env: Envtest,
  apiVersion = "client.authentication.k8s.io/v1beta1",
): Promise<{ path: string; ran: string }> {
  const name = `laptop-exec-${apiVersion.split("/")[1]}-${++plugins}`;
  const { token } = await env.serviceAccount("kube-system", name, {
    clusterRole: "cluster-admin",
  });
  const dir = `${env.dir}/${name}`;
  await Deno.mkdir(`${dir}/bin`, { recursive: true });
  const ran = `${dir}/ran`;
  const credential = (status: string) =>
    `{"apiVersion":"${apiVersion}","kind":"ExecCredential","status":${status}}`;
  // The token comes in through the plugin's env; its args must arrive too.
  await Deno.writeTextFile(
    `${dir}/bin/login`,
    `#!/bin/sh
[ "$1" = get-token ] && [ "$2" = --cluster=lab ] || { echo "bad args: $*" >&2; exit 3; }
echo "$KUBERNETES_EXEC_INFO" >> ${ran}
printf '%s\\n' '${
      credential('{"token":"__TOKEN__"}')
    }' | sed "s/__TOKEN__/$LAB_TOKEN/"
`,
  );
  await Deno.chmod(`${dir}/bin/login`, 0o755);
  const path = `${dir}/config`;
  await env.writeKubeconfig(path, {
    exec: {
      apiVersion,
      command: "./bin/login",
      args: ["get-token", "--cluster=lab"],
      env: [{ name: "LAB_TOKEN", value: token }],
      interactiveMode: "Never",
      installHint: "Install lab-login from https://example.com/lab-login.",
    },
  });
  return { path, ran };
}
