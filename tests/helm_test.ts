/**
 * The Helm chart: lint, render, every rendered manifest accepted by a real
 * kube-apiserver (server-side dry run), and the chart's RBAC proven: its
 * ServiceAccount and roles applied for real, the server run with that
 * account's token and the rendered Deployment's own arguments, reaching
 * /ready and streaming events without a single 403.
 */
import assert from "node:assert/strict";
import {
  LEAST_RULES,
  patchStatus,
  persona,
} from "./support/cluster_objects.ts";
import {
  CHART,
  find,
  helm,
  type Manifest,
  NAMESPACE,
  render,
} from "./support/chart.ts";
import { collectionOf, Envtest } from "./support/envtest.ts";
import { delay, spawnServer, waitReady } from "./support/server.ts";
import { TestClient } from "./support/ws_client.ts";

const unsanitized = { sanitizeOps: false, sanitizeResources: false };

type Container = {
  args: string[];
  securityContext: Record<string, unknown>;
  livenessProbe: { httpGet: { path: string; scheme: string } };
  readinessProbe: { httpGet: { path: string; scheme: string } };
  ports: { containerPort: number }[];
  resources: Record<string, unknown>;
  volumeMounts: { name: string; mountPath: string; readOnly?: boolean }[];
};

function pod(
  manifests: Manifest[],
): { spec: Record<string, unknown>; container: Container } {
  const [deployment] = find(manifests, "Deployment");
  const spec =
    (deployment.spec as { template: { spec: Record<string, unknown> } })
      .template.spec;
  return { spec, container: (spec.containers as Container[])[0] };
}

const VARIANTS: Record<string, string[]> = {
  default: [],
  namespaced: ["rbac.scope=namespace", "namespaces={prod,staging}"],
  ha: ["replicaCount=3"],
  locked: ["networkPolicy.enabled=true", "serviceMonitor.enabled=true"],
  headless: ["websocket.enabled=false"],
  token: [
    "auth.mode=token",
    "auth.existingSecret=dorgu-ws-tokens",
    "allowedOrigins={https://ops.example.com}",
  ],
  kubeauth: ["auth.mode=kubernetes"],
  monitored: [
    "serviceMonitor.enabled=true",
    "prometheusRule.enabled=true",
    "grafanaDashboard.enabled=true",
    "tls.secretName=dorgu-ws-tls",
    "allowedHosts={dorgu.example.com}",
  ],
};

Deno.test("helm lint passes", async () => {
  const result = await helm(["lint", "--strict", CHART]);
  assert.equal(result.code, 0, result.stdout + result.stderr);
  assert.match(result.stdout, /1 chart\(s\) linted, 0 chart\(s\) failed/);
});

Deno.test("the default release: ClusterIP service on 9090, least RBAC, probes, restricted pod", async () => {
  const manifests = await render();
  assert.deepEqual(
    manifests.map((m) => m.kind).sort(),
    [
      "ClusterRole",
      "ClusterRoleBinding",
      "Deployment",
      "Service",
      "ServiceAccount",
    ],
  );
  const [service] = find(manifests, "Service");
  assert.deepEqual(service.spec, {
    type: "ClusterIP",
    selector: {
      "app.kubernetes.io/name": "dorgu-ws",
      "app.kubernetes.io/instance": "dorgu-ws",
    },
    ports: [{
      name: "websocket",
      port: 9090,
      targetPort: "websocket",
      protocol: "TCP",
    }],
  });
  const [role] = find(manifests, "ClusterRole");
  assert.deepEqual(role.rules, LEAST_RULES);
  const { spec, container } = pod(manifests);
  assert.deepEqual(spec.securityContext, {
    runAsNonRoot: true,
    runAsUser: 65532,
    runAsGroup: 65532,
    fsGroup: 65532,
    seccompProfile: { type: "RuntimeDefault" },
  });
  assert.deepEqual(container.securityContext, {
    runAsNonRoot: true,
    readOnlyRootFilesystem: true,
    allowPrivilegeEscalation: false,
    capabilities: { drop: ["ALL"] },
  });
  assert.equal(container.livenessProbe.httpGet.path, "/health");
  assert.equal(container.readinessProbe.httpGet.path, "/ready");
  assert.equal(container.ports[0].containerPort, 9090);
  assert.ok(container.resources.requests && container.resources.limits);
  assert.deepEqual(container.args, [
    "--websocket-addr=:9090",
    "--enable-websocket=true",
    "--history-size=1024",
    "--log-level=info",
    "--allowed-hosts=dorgu-ws,dorgu-ws.dorgu-system,dorgu-ws.dorgu-system.svc,dorgu-ws.dorgu-system.svc.cluster.local",
  ]);
  assert.equal(find(manifests, "PodDisruptionBudget").length, 0);
});

Deno.test("values switch on the optional parts", async () => {
  const namespaced = await render(VARIANTS.namespaced);
  assert.deepEqual(find(namespaced, "Role").map((r) => r.metadata.namespace), [
    "prod",
    "staging",
  ]);
  assert.deepEqual(find(namespaced, "ClusterRole").map((r) => r.rules), [[
    {
      apiGroups: ["dorgu.io"],
      resources: ["clusterpersonas"],
      verbs: ["get", "list", "watch"],
    },
  ]]);
  assert.deepEqual(
    pod(namespaced).container.args.filter((a) => a.startsWith("--namespace")),
    [
      "--namespace=prod",
      "--namespace=staging",
    ],
  );
  const ha = await render(VARIANTS.ha);
  assert.deepEqual(find(ha, "PodDisruptionBudget")[0].spec, {
    minAvailable: 1,
    selector: {
      matchLabels: {
        "app.kubernetes.io/name": "dorgu-ws",
        "app.kubernetes.io/instance": "dorgu-ws",
      },
    },
  });
  const locked = await render(VARIANTS.locked);
  assert.equal(find(locked, "NetworkPolicy").length, 1);
  assert.equal(find(locked, "ServiceMonitor").length, 1);
  const headless = await render(VARIANTS.headless);
  assert.equal(find(headless, "Service").length, 0);
  assert.ok(pod(headless).container.args.includes("--enable-websocket=false"));
  const kubeauth = await render(VARIANTS.kubeauth);
  assert.ok(pod(kubeauth).container.args.includes("--auth=kubernetes"));
  assert.deepEqual(
    find(kubeauth, "ClusterRole").find((r) => r.metadata.name.endsWith("-auth"))
      ?.rules,
    [
      {
        apiGroups: ["authentication.k8s.io"],
        resources: ["tokenreviews"],
        verbs: ["create"],
      },
      {
        apiGroups: ["authorization.k8s.io"],
        resources: ["subjectaccessreviews"],
        verbs: ["create"],
      },
      { apiGroups: [""], resources: ["namespaces"], verbs: ["list"] },
    ],
  );
  const token = await render(VARIANTS.token);
  const { container, spec } = pod(token);
  assert.ok(container.args.includes("--auth=token"));
  assert.ok(container.args.includes("--token-file=/etc/dorgu-ws/auth/tokens"));
  assert.ok(
    container.args.includes("--allowed-origins=https://ops.example.com"),
  );
  assert.deepEqual(
    (spec.volumes as { name: string; secret?: { secretName: string } }[]).find((
      v,
    ) => v.name === "auth")?.secret,
    { secretName: "dorgu-ws-tokens" },
  );
});

Deno.test("TLS, alerts, the dashboard and extra hosts are switched on by values", async () => {
  const monitored = await render(VARIANTS.monitored);
  const { container, spec } = pod(monitored);
  assert.deepEqual(
    container.args.filter((a) => /^--(tls|allowed-hosts)/.test(a)),
    [
      "--allowed-hosts=dorgu-ws,dorgu-ws.dorgu-system,dorgu-ws.dorgu-system.svc,dorgu-ws.dorgu-system.svc.cluster.local,dorgu.example.com",
      "--tls-cert-file=/etc/dorgu-ws/tls/tls.crt",
      "--tls-private-key-file=/etc/dorgu-ws/tls/tls.key",
    ],
  );
  // A directory mount (no subPath): the kubelet swaps renewed Secrets in.
  assert.deepEqual(
    container.volumeMounts.find((m) => m.name === "tls"),
    { name: "tls", mountPath: "/etc/dorgu-ws/tls", readOnly: true },
  );
  assert.deepEqual(
    (spec.volumes as { name: string }[]).find((v) => v.name === "tls"),
    { name: "tls", secret: { secretName: "dorgu-ws-tls" } },
  );
  assert.equal(container.livenessProbe.httpGet.scheme, "HTTPS");
  assert.equal(container.readinessProbe.httpGet.scheme, "HTTPS");
  const [monitor] = find(monitored, "ServiceMonitor");
  assert.deepEqual(
    (monitor.spec as { endpoints: Record<string, unknown>[] }).endpoints[0],
    {
      port: "websocket",
      path: "/metrics",
      interval: "30s",
      scheme: "https",
      tlsConfig: {
        ca: { secret: { name: "dorgu-ws-tls", key: "ca.crt" } },
        serverName: "dorgu-ws.dorgu-system.svc",
      },
    },
  );
  const [rule] = find(monitored, "PrometheusRule");
  const alerts = (rule.spec as { groups: { rules: { alert: string }[] }[] })
    .groups[0].rules.map((r) => r.alert);
  assert.deepEqual(alerts, [
    "DorguWsNotReady",
    "DorguWsWatchRestarting",
    "DorguWsEventsDropped",
    "DorguWsConnectionsNearLimit",
    "DorguWsFileDescriptorsNearLimit",
    "DorguWsMemoryNearLimit",
    "DorguWsCertificateExpiring",
  ]);
  const [dashboard] = find(monitored, "ConfigMap");
  assert.equal(dashboard.metadata.labels?.grafana_dashboard, "1");
  const json = JSON.parse(
    (dashboard.data as Record<string, string>)["dorgu-ws.json"],
  );
  assert.equal(json.uid, "dorgu-ws");
  // Off by default.
  const plain = await render();
  for (const kind of ["PrometheusRule", "ConfigMap", "ServiceMonitor"]) {
    assert.equal(find(plain, kind).length, 0, kind);
  }
  assert.equal(pod(plain).container.livenessProbe.httpGet.scheme, "HTTP");
});

Deno.test("bad values are refused with a reason", async () => {
  const cases: [string[], RegExp][] = [
    [["websocket.port=abc"], /websocket\/port.*want integer/],
    [["rbac.scope=everything"], /rbac\/scope/],
    [["typo=1"], /additional properties 'typo' not allowed/],
    [["namespaces={Prod}"], /namespaces\/0/],
    [["rbac.scope=namespace"], /rbac.scope=namespace needs the namespaces/],
    [["auth.mode=token"], /auth.mode=token needs auth.existingSecret/],
    [["allowedHosts={https://x.example.com}"], /allowedHosts\/0/],
    [["prometheusRule.thresholds.memory=2"], /thresholds\/memory/],
  ];
  for (const [set, pattern] of cases) {
    const result = await helm([
      "template",
      "x",
      CHART,
      "--kube-version",
      "1.37.2",
      ...set.flatMap((s) => ["--set", s]),
    ]);
    assert.notEqual(result.code, 0, set.join());
    assert.match(result.stderr, pattern, set.join());
  }
});

let env: Envtest;

Deno.test({
  name:
    "every rendered manifest is accepted by a real kube-apiserver (server-side dry run)",
  ...unsanitized,
  async fn() {
    env = await Envtest.start();
    await env.installCrds();
    for (const ns of [NAMESPACE, "prod", "staging"]) {
      await env.ensureNamespace(ns);
    }
    // The Prometheus Operator's own CRDs, for the ServiceMonitor and the
    // PrometheusRule: their schemas check what the chart renders.
    await env.installPrometheusOperatorCrds();
    await delay(1500);
    let checked = 0;
    for (const [variant, set] of Object.entries(VARIANTS)) {
      for (const manifest of await render(set)) {
        const response = await env.primary.fetch(
          `${collectionOf(manifest)}?dryRun=All&fieldValidation=Strict`,
          {
            method: "POST",
            body: JSON.stringify(manifest),
          },
        );
        const text = await response.text();
        assert.ok(
          response.ok,
          `${variant}: ${manifest.kind} ${manifest.metadata.name} refused: ${response.status} ${text}`,
        );
        checked++;
      }
    }
    // Eight variants, fifty-one objects, all of them accepted.
    assert.equal(checked, 51);
  },
});

/** Applies the rendered RBAC for real and runs the server as that account. */
async function runAsChartAccount(set: string[]) {
  const manifests = await render(set);
  for (
    const kind of [
      "ServiceAccount",
      "ClusterRole",
      "ClusterRoleBinding",
      "Role",
      "RoleBinding",
    ]
  ) {
    for (const manifest of find(manifests, kind)) {
      await env.api(
        "DELETE",
        `${collectionOf(manifest)}/${manifest.metadata.name}`,
      ).catch(() => {});
      await env.api("POST", collectionOf(manifest), manifest);
    }
  }
  const account = find(manifests, "ServiceAccount")[0].metadata.name;
  const request = await env.api(
    "POST",
    `/api/v1/namespaces/${NAMESPACE}/serviceaccounts/${account}/token`,
    {
      apiVersion: "authentication.k8s.io/v1",
      kind: "TokenRequest",
      spec: { expirationSeconds: 3600 },
    },
  );
  const kubeconfig = `${env.dir}/kubeconfig-chart-${set.length}`;
  await env.writeKubeconfig(kubeconfig, {
    token: (request.status as { token: string }).token,
  });
  const args = pod(manifests).container.args.filter((a) =>
    !a.startsWith("--websocket-addr")
  );
  return await spawnServer([...args, "--kubeconfig", kubeconfig]);
}

async function proveStreaming(set: string[], namespace: string): Promise<void> {
  await env.apply([persona(namespace, `probe-${set.length}`)]).catch(() => {});
  const server = await runAsChartAccount(set);
  try {
    const url = `http://127.0.0.1:${server.port}`;
    const deadline = Date.now() + 20_000;
    while (
      !(await fetch(`${url}/ready`).then(async (
        r,
      ) => (await r.body?.cancel(), r.ok)))
    ) {
      assert.ok(
        Date.now() < deadline,
        `not ready: ${await (await fetch(`${url}/ready`)).text()}`,
      );
      await delay(100);
    }
    const client = await TestClient.connect(`ws://127.0.0.1:${server.port}/ws`);
    await client.call("subscribe", "personas");
    await patchStatus(
      env.primary,
      `/apis/dorgu.io/v1/namespaces/${namespace}/applicationpersonas/probe-${set.length}`,
      {
        phase: "Active",
      },
    );
    await client.waitFor(
      (m) => m.type === "event" && m.payload?.phase === "Active",
      "the persona event",
    );
    for (const topic of ["cluster", "deployments", "events"]) {
      assert.equal(
        (await client.call("request", topic === "events" ? "events" : topic))
          .payload?.code === "forbidden",
        false,
      );
    }
    await client.close();
    const warnings = server.logs.filter((l) =>
      typeof l === "object" && l.level === "warn"
    );
    assert.deepEqual(warnings, [], "no 403 or any other warning");
  } finally {
    await server.stop();
  }
}

Deno.test({
  name:
    "the chart's ClusterRole is all the server needs: ready, streaming, no 403",
  ...unsanitized,
  async fn() {
    await proveStreaming([], "prod");
  },
});

Deno.test({
  name:
    "the chart's namespaced Roles are all the server needs with --namespace",
  ...unsanitized,
  async fn() {
    await proveStreaming(VARIANTS.namespaced, "staging");
  },
});

Deno.test({
  name: "the chart's auth role lets --auth kubernetes review a user's token",
  ...unsanitized,
  async fn() {
    const server = await runAsChartAccount(VARIANTS.kubeauth);
    try {
      await waitReady(`http://127.0.0.1:${server.port}`);
      const user = await env.serviceAccount("prod", "operator", {
        clusterRole: "cluster-admin",
      });
      const client = await TestClient.connect(
        `ws://127.0.0.1:${server.port}/ws`,
        {
          headers: { authorization: `Bearer ${user.token}` },
        },
      );
      const listed = await client.call("request", "personas");
      assert.equal(listed.type, "response");
      await client.close();
      assert.deepEqual(
        server.logs.filter((l) => typeof l === "object" && l.level === "warn"),
        [],
      );
    } finally {
      await server.stop();
    }
  },
});

Deno.test({
  name: "stop the control plane",
  ...unsanitized,
  async fn() {
    await env?.stop();
  },
});
