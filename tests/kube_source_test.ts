/**
 * The Kubernetes source against a real etcd and kube-apiserver: objects
 * created, changed and deleted through real API calls, and the exact
 * events a subscribed client receives; the API server killed and
 * restarted, etcd compacted, permissions missing.
 */
import assert from "node:assert/strict";
import { CredentialLoader } from "../src/kube/mod.ts";
import { KubernetesSource } from "../src/sources/kubernetes.ts";
import {
  apiPersonas,
  clusterPersona,
  deployment,
  kubeEvent,
  LEAST_RULES,
  patchStatus,
  persona,
  TopicView,
} from "./support/cluster_objects.ts";
import { Envtest } from "./support/envtest.ts";
import {
  captureLog,
  delay,
  eventually,
  spawnServer,
  startTestServer,
  type TestServer,
  waitReady,
} from "./support/server.ts";
import { type Message, TestClient } from "./support/ws_client.ts";

const unsanitized = { sanitizeOps: false, sanitizeResources: false };
let env: Envtest;

const PERSONAS = "/apis/dorgu.io/v1/namespaces";

async function clusterServer(
  options: { kubeconfig?: string; namespaces?: string[] } = {},
) {
  const log = captureLog();
  const server = await startTestServer({
    source: "kubernetes",
    namespaces: options.namespaces ?? [],
  }, {
    log: log.logger,
    source: (store, logger) =>
      new KubernetesSource(store, {
        credentials: new CredentialLoader({
          kubeconfig: options.kubeconfig ?? env.kubeconfig,
        }),
        namespaces: options.namespaces ?? [],
        log: logger,
        informer: { backoffMs: [100, 800] },
      }),
  });
  return { server, log };
}

Deno.test({
  name:
    "a missing CRD is a warning and a /ready reason; the rest works; installing it recovers",
  ...unsanitized,
  async fn() {
    env = await Envtest.start();
    await env.ensureNamespace("prod");
    await env.ensureNamespace("staging");
    const { server, log } = await clusterServer();
    await using _ = server;
    await eventually(() => {
      assert.equal(server.store.stats().get("deployments")?.synced, true);
      assert.equal(server.store.stats().get("events")?.synced, true);
    });
    const ready = await fetch(`${server.httpUrl}/ready`);
    assert.equal(ready.status, 503);
    const pending = (await ready.json()).pending;
    assert.deepEqual(Object.keys(pending).sort(), ["clusters", "personas"]);
    assert.match(
      pending.personas,
      /does not serve applicationpersonas\.dorgu\.io\/v1 in all namespaces \(is its CRD installed\?\)/,
    );
    const warning = log.lines.find((l) =>
      l.level === "warn" &&
      String(l.msg).includes("clusterpersonas.dorgu.io/v1")
    );
    assert.ok(warning, "a warning names the ClusterPersona resource");
    const client = await TestClient.connect(server.wsUrl);
    const personas = await client.call("request", "personas");
    assert.equal(personas.payload?.code, "not_ready");
    assert.match(personas.payload?.message ?? "", /CRD installed/);
    const deployments = await client.call("request", "deployments");
    assert.deepEqual(deployments.payload, { deployments: [] });

    await env.installCrds();
    await waitReady(server.httpUrl);
    assert.ok(
      log.lines.some((l) =>
        /^Reading applicationpersonas.* again$/.test(String(l.msg))
      ),
    );
    await client.close();
  },
});

Deno.test({
  name:
    "real API calls become exactly the expected events, in order (binary permissions)",
  ...unsanitized,
  async fn() {
    const api = env.primary;
    await env.apply([
      persona("prod", "order-service", {
        status: { phase: "Active", health: { status: "Healthy" } },
      }),
      clusterPersona("prod-cluster", {
        phase: "Ready",
        kubernetesVersion: "v1.37.2",
        platform: "kind",
        applicationCount: 2,
        nodes: [{ name: "n1" }, { name: "n2" }],
        addons: [{ name: "argocd", installed: true }],
      }),
      deployment("prod", "order-service"),
    ]);
    // The first status write of a new object can race the create; set them now.
    await patchStatus(
      api,
      `${PERSONAS}/prod/applicationpersonas/order-service`,
      {
        phase: "Active",
        health: { status: "Healthy" },
      },
    );
    await patchStatus(api, "/apis/dorgu.io/v1/clusterpersonas/prod-cluster", {
      phase: "Ready",
      kubernetesVersion: "v1.37.2",
      platform: "kind",
      applicationCount: 2,
      nodes: [{ name: "n1" }, { name: "n2" }],
      addons: [{ name: "argocd", installed: true }],
    });
    await patchStatus(
      api,
      "/apis/apps/v1/namespaces/prod/deployments/order-service",
      {
        observedGeneration: 1,
        replicas: 3,
        readyReplicas: 3,
        updatedReplicas: 3,
        availableReplicas: 3,
      },
    );

    const server = await spawnServer(["--kubeconfig", env.kubeconfig]);
    try {
      await waitReady(`http://127.0.0.1:${server.port}`);
      const client = await TestClient.connect(
        `ws://127.0.0.1:${server.port}/ws`,
      );
      for (const topic of ["personas", "cluster", "deployments", "events"]) {
        await client.call("subscribe", topic);
      }
      // Events already in the log: one seeded per current validation result
      // and Event; there are none yet.
      const events = (topic: string) =>
        client.events(topic).map((m) => m.payload);
      const step = async (
        action: () => Promise<unknown>,
        expect: Record<string, number>,
      ) => {
        const before = Object.fromEntries(
          Object.keys(expect).map((t) => [t, client.events(t).length]),
        );
        await action();
        for (const [topic, count] of Object.entries(expect)) {
          await client.waitForCount(
            (m) => m.type === "event" && m.topic === topic,
            before[topic] + count,
            `${count} more ${topic} events`,
          );
        }
      };
      // A created object has no status yet: the operator writes it next.
      await step(() => env.apply([persona("staging", "search")]), {
        personas: 1,
      });
      await step(
        () =>
          patchStatus(api, `${PERSONAS}/staging/applicationpersonas/search`, {
            phase: "Pending",
            health: { status: "Unknown" },
          }),
        { personas: 1 },
      );
      await step(
        () =>
          patchStatus(
            api,
            `${PERSONAS}/prod/applicationpersonas/order-service`,
            {
              phase: "Degraded",
              health: {
                status: "Unhealthy",
                lastCheck: "2026-11-25T10:00:00Z",
              },
            },
          ),
        { personas: 1 },
      );
      // Status timestamps churn; that is not an update.
      await patchStatus(
        api,
        `${PERSONAS}/prod/applicationpersonas/order-service`,
        {
          health: { lastCheck: "2026-11-25T10:00:30Z" },
        },
      );
      await step(
        () =>
          patchStatus(
            api,
            `${PERSONAS}/prod/applicationpersonas/order-service`,
            {
              validation: {
                passed: false,
                issues: [
                  { severity: "error", message: "replicas below minimum" },
                  { severity: "warning", message: "runAsNonRoot not enforced" },
                ],
              },
            },
          ),
        { events: 1 },
      );
      await step(
        () =>
          patchStatus(api, "/apis/dorgu.io/v1/clusterpersonas/prod-cluster", {
            nodes: [{ name: "n2" }, { name: "n3" }],
          }),
        { cluster: 2 },
      );
      await step(
        () =>
          patchStatus(api, "/apis/dorgu.io/v1/clusterpersonas/prod-cluster", {
            phase: "Degraded",
          }),
        { cluster: 1 },
      );
      await step(
        () => env.apply([deployment("staging", "search", { replicas: 2 })]),
        {
          deployments: 1,
        },
      );
      await step(
        () =>
          patchStatus(
            api,
            "/apis/apps/v1/namespaces/prod/deployments/order-service",
            {
              readyReplicas: 2,
              availableReplicas: 2,
            },
          ),
        { deployments: 1 },
      );
      await step(
        () =>
          env.apply([
            kubeEvent("prod", "order-service-7d9f.1", {
              involved: "order-service-7d9f",
              reason: "BackOff",
            }),
          ]),
        { events: 1 },
      );
      await step(
        () =>
          api.api("DELETE", `${PERSONAS}/staging/applicationpersonas/search`),
        { personas: 1, deployments: 1 },
      );
      await step(
        () =>
          api.api(
            "DELETE",
            "/apis/apps/v1/namespaces/prod/deployments/order-service",
          ),
        { deployments: 1 },
      );
      await delay(500);

      assert.deepEqual(events("personas"), [
        {
          eventType: "created",
          namespace: "staging",
          name: "search",
          phase: "",
          health: "",
        },
        {
          eventType: "updated",
          namespace: "staging",
          name: "search",
          phase: "Pending",
          health: "Unknown",
        },
        {
          eventType: "updated",
          namespace: "prod",
          name: "order-service",
          phase: "Degraded",
          health: "Unhealthy",
        },
        {
          eventType: "deleted",
          namespace: "staging",
          name: "search",
          phase: "Pending",
          health: "Unknown",
        },
      ]);
      assert.deepEqual(events("cluster"), [
        {
          eventType: "nodeAdded",
          node: "n3",
          name: "prod-cluster-spec",
          phase: "Ready",
          nodeCount: 3,
          applicationCount: 2,
        },
        {
          eventType: "nodeRemoved",
          node: "n1",
          name: "prod-cluster-spec",
          phase: "Ready",
          nodeCount: 2,
          applicationCount: 2,
        },
        {
          eventType: "updated",
          name: "prod-cluster-spec",
          phase: "Degraded",
          nodeCount: 2,
          applicationCount: 2,
        },
      ]);
      const search = {
        namespace: "staging",
        name: "search",
        replicas: 2,
        readyReplicas: 0,
        updatedReplicas: 0,
        availableReplicas: 0,
        images: ["ghcr.io/acme/search:1.0.0"],
        rollout: "progressing",
      };
      const orderService = {
        namespace: "prod",
        name: "order-service",
        replicas: 3,
        readyReplicas: 2,
        updatedReplicas: 3,
        availableReplicas: 2,
        images: ["ghcr.io/acme/order-service:1.0.0"],
        rollout: "progressing",
        persona: "order-service",
      };
      assert.deepEqual(events("deployments"), [
        { eventType: "created", ...search, persona: "search" },
        { eventType: "updated", ...orderService },
        { eventType: "updated", ...search },
        { eventType: "deleted", ...orderService },
      ]);
      const log = events("events") as Record<string, unknown>[];
      assert.deepEqual(log[0], {
        kind: "validation",
        namespace: "prod",
        name: "order-service",
        passed: false,
        issueCount: 2,
        severity: "error",
        issues: ["replicas below minimum", "runAsNonRoot not enforced"],
      });
      assert.deepEqual(
        { ...log[1], lastTimestamp: "" },
        {
          kind: "kubernetes",
          namespace: "prod",
          name: "order-service-7d9f.1",
          type: "Warning",
          reason: "BackOff",
          message: "BackOff for order-service-7d9f",
          involvedObject: {
            kind: "Pod",
            namespace: "prod",
            name: "order-service-7d9f",
          },
          count: 1,
          lastTimestamp: "",
        },
      );
      assert.equal(log.length, 2);

      const cluster = await client.call("request", "cluster");
      assert.deepEqual(cluster.payload, {
        name: "prod-cluster-spec",
        environment: "production",
        phase: "Degraded",
        kubernetesVersion: "v1.37.2",
        platform: "kind",
        nodeCount: 2,
        applicationCount: 2,
        addons: ["argocd"],
        nodes: ["n2", "n3"],
      });
      const personas = await client.call("request", "personas");
      assert.deepEqual(personas.payload, {
        personas: [{
          namespace: "prod",
          name: "order-service",
          appName: "order-service",
          type: "api",
          tier: "critical",
          phase: "Degraded",
          health: "Unhealthy",
        }],
      });
      await client.close();
      assert.deepEqual(
        server.logs.filter((l) => (l as { level?: string }).level === "warn"),
        [],
      );
    } finally {
      await server.stop();
    }
  },
});

/** A client that lists personas and deployments, then follows them. */
async function follower(server: TestServer) {
  const client = await TestClient.connect(server.wsUrl);
  const personas = new TopicView(["phase", "health"]);
  const deployments = new TopicView([
    "readyReplicas",
    "availableReplicas",
    "replicas",
  ]);
  await client.call("subscribe", "personas");
  await client.call("subscribe", "deployments");
  personas.list(await client.call("request", "personas"), "personas");
  deployments.list(await client.call("request", "deployments"), "deployments");
  let applied = 0;
  const sync = () => {
    const fresh = client.received.slice(applied);
    applied = client.received.length;
    for (const message of fresh) {
      if (message.type !== "event") continue;
      if (message.topic === "personas") personas.apply(message as Message);
      if (message.topic === "deployments") {
        deployments.apply(message as Message);
      }
    }
  };
  return { client, personas, deployments, sync };
}

async function changeWhileAway(api: import("./support/envtest.ts").Apiserver) {
  await api.api(
    "POST",
    `${PERSONAS}/prod/applicationpersonas`,
    persona("prod", "arrived"),
  );
  await patchStatus(api, `${PERSONAS}/prod/applicationpersonas/arrived`, {
    phase: "Active",
    health: { status: "Healthy" },
  });
  await patchStatus(api, `${PERSONAS}/prod/applicationpersonas/steady`, {
    phase: "Failed",
    health: { status: "Unhealthy" },
  });
  await api.api("DELETE", `${PERSONAS}/prod/applicationpersonas/leaving`);
  await api.api(
    "POST",
    `${PERSONAS}/prod/applicationpersonas`,
    persona("prod", "fleeting"),
  );
  await api.api("DELETE", `${PERSONAS}/prod/applicationpersonas/fleeting`);
  await patchStatus(api, "/apis/apps/v1/namespaces/prod/deployments/worker", {
    replicas: 2,
    readyReplicas: 1,
    availableReplicas: 1,
  });
}

async function resetWorld(): Promise<void> {
  for (const name of ["steady", "leaving", "arrived"]) {
    await env.api("DELETE", `${PERSONAS}/prod/applicationpersonas/${name}`)
      .catch(() => {});
  }
  await env.api("DELETE", "/apis/apps/v1/namespaces/prod/deployments/worker")
    .catch(() => {});
  await delay(300);
  await env.apply([
    persona("prod", "steady"),
    persona("prod", "leaving"),
    deployment("prod", "worker", { replicas: 2 }),
  ]);
  await patchStatus(
    env.primary,
    `${PERSONAS}/prod/applicationpersonas/steady`,
    {
      phase: "Active",
      health: { status: "Healthy" },
    },
  );
}

async function assertConverged(
  view: Awaited<ReturnType<typeof follower>>,
): Promise<void> {
  await eventually(async () => {
    view.sync();
    assert.deepEqual(view.personas.snapshot(), await apiPersonas(env.primary));
    assert.deepEqual(view.deployments.snapshot()["prod/worker"], {
      readyReplicas: 1,
      availableReplicas: 1,
      replicas: 2,
    });
  });
}

Deno.test({
  name:
    "kube-apiserver killed and restarted mid-stream: the client ends with exactly the cluster's state",
  ...unsanitized,
  async fn() {
    await resetWorld();
    const { server } = await clusterServer();
    await using _ = server;
    await waitReady(server.httpUrl);
    const view = await follower(server);
    await env.primary.stop();
    const secondary = await env.startSecondary();
    await changeWhileAway(secondary);
    await secondary.stop();
    await env.primary.start();
    await assertConverged(view);
    const restarts = server.source.watchStats?.().get("personas")?.restarts ??
      0;
    assert.ok(restarts > 0, "the personas watch was restarted");
    // Nothing more arrives once converged: no late doubles.
    await delay(1000);
    view.sync();
    assert.deepEqual(view.personas.snapshot(), await apiPersonas(env.primary));
    await view.client.close();
  },
});

Deno.test({
  name:
    "etcd compacted while the watch was down: 410 Gone, relist, exactly the cluster's state",
  ...unsanitized,
  async fn() {
    await resetWorld();
    const { server, log } = await clusterServer();
    await using _ = server;
    await waitReady(server.httpUrl);
    const view = await follower(server);
    await env.primary.stop();
    const secondary = await env.startSecondary();
    await changeWhileAway(secondary);
    await secondary.stop();
    await env.compactEtcd();
    // Without the watch cache the resumed watch goes to etcd, whose history
    // before the compaction is gone.
    await env.primary.start(["--watch-cache=false"]);
    await assertConverged(view);
    const relists = server.source.watchStats?.().get("personas")?.relists ?? 0;
    assert.ok(relists >= 1, "the personas informer relisted");
    const metrics = await (await fetch(`${server.httpUrl}/metrics`)).text();
    assert.match(
      metrics,
      new RegExp(
        `^dorgu_ws_watch_relists_total\\{resource="personas"\\} ${relists}$`,
        "m",
      ),
    );
    assert.match(
      metrics,
      /^dorgu_ws_watch_restarts_total\{resource="personas"\} [1-9]\d*$/m,
    );
    assert.match(
      metrics,
      /^dorgu_ws_watch_decode_errors_total\{resource="personas"\} 0$/m,
    );
    assert.ok(
      log.lines.some((l) =>
        l.msg === "The watch's resource version expired; relisting"
      ),
    );
    await view.client.close();
    await env.primary.stop();
    await env.primary.start();
  },
});

const READ_ONLY = ["get", "list", "watch"];

async function grant(
  name: string,
  rules: { apiGroups: string[]; resources: string[]; verbs: string[] }[],
  subject: { namespace: string; name: string },
  role: { kind: "ClusterRole" | "Role"; namespace?: string } = {
    kind: "ClusterRole",
  },
): Promise<void> {
  const binding = role.kind === "ClusterRole"
    ? "ClusterRoleBinding"
    : "RoleBinding";
  const metadata = role.namespace
    ? { name, namespace: role.namespace }
    : { name };
  await env.apply([
    {
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: role.kind,
      metadata,
      rules,
    },
    {
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: binding,
      metadata,
      roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: role.kind, name },
      subjects: [{ kind: "ServiceAccount", ...subject }],
    },
  ]);
}

Deno.test({
  name:
    "a service account with only get/list/watch on the four resources suffices",
  ...unsanitized,
  async fn() {
    const account = await env.serviceAccount("dorgu-system", "dorgu-ws");
    await grant("dorgu-ws-reader", LEAST_RULES, {
      namespace: "dorgu-system",
      name: "dorgu-ws",
    });
    const server = await spawnServer(["--kubeconfig", account.kubeconfig]);
    try {
      await waitReady(`http://127.0.0.1:${server.port}`);
      const client = await TestClient.connect(
        `ws://127.0.0.1:${server.port}/ws`,
      );
      await client.call("subscribe", "personas");
      await patchStatus(
        env.primary,
        `${PERSONAS}/prod/applicationpersonas/steady`,
        { phase: "Degraded" },
      );
      const [event] = await client.waitForCount(
        (m) => m.type === "event",
        1,
        "an event",
      );
      assert.equal(event.payload?.phase, "Degraded");
      await client.close();
      assert.deepEqual(
        server.logs.filter((l) => (l as { level?: string }).level === "warn"),
        [],
      );
    } finally {
      await server.stop();
    }
  },
});

Deno.test({
  name:
    "an account lacking a permission gets a warning naming resource and permission; the rest works",
  ...unsanitized,
  async fn() {
    const account = await env.serviceAccount("dorgu-system", "no-events");
    await grant("dorgu-ws-no-events", [
      {
        apiGroups: ["dorgu.io"],
        resources: ["applicationpersonas", "clusterpersonas"],
        verbs: READ_ONLY,
      },
      {
        apiGroups: ["apps"],
        resources: ["deployments"],
        verbs: ["get", "list"],
      },
    ], { namespace: "dorgu-system", name: "no-events" });
    const server = await spawnServer(["--kubeconfig", account.kubeconfig]);
    try {
      const url = `http://127.0.0.1:${server.port}`;
      const events = await server.waitForLog((l) =>
        l.level === "warn" &&
        String(l.msg).startsWith("Cannot read events (v1)")
      );
      assert.match(
        String(events.reason),
        /^permission denied: events is forbidden: User "system:serviceaccount:dorgu-system:no-events" cannot list resource "events" in API group "" at the cluster scope.*Grant get, list and watch/,
      );
      const watch = await server.waitForLog((l) =>
        l.level === "warn" &&
        String(l.msg).startsWith("Cannot read deployments.apps/v1")
      );
      assert.match(String(watch.reason), /cannot watch resource "deployments"/);
      const ready = await fetch(`${url}/ready`);
      assert.equal(ready.status, 503);
      const pending = (await ready.json()).pending;
      assert.deepEqual(Object.keys(pending), ["events"]);
      assert.match(pending.events, /permission denied/);
      const client = await TestClient.connect(
        `ws://127.0.0.1:${server.port}/ws`,
      );
      const personas = await client.call("request", "personas");
      assert.equal(personas.type, "response");
      await client.close();
    } finally {
      await server.stop();
    }
  },
});

Deno.test({
  name: "--namespace watches only those namespaces, with a namespaced Role",
  ...unsanitized,
  async fn() {
    const account = await env.serviceAccount("prod", "dorgu-ws-prod");
    await grant(
      "dorgu-ws-prod",
      [
        {
          apiGroups: ["dorgu.io"],
          resources: ["applicationpersonas"],
          verbs: READ_ONLY,
        },
        { apiGroups: ["apps"], resources: ["deployments"], verbs: READ_ONLY },
        { apiGroups: [""], resources: ["events"], verbs: READ_ONLY },
      ],
      { namespace: "prod", name: "dorgu-ws-prod" },
      { kind: "Role", namespace: "prod" },
    );
    await grant("dorgu-ws-prod-clusters", [
      {
        apiGroups: ["dorgu.io"],
        resources: ["clusterpersonas"],
        verbs: READ_ONLY,
      },
    ], { namespace: "prod", name: "dorgu-ws-prod" });
    await env.apply([persona("staging", "elsewhere")]);
    const { server, log } = await clusterServer({
      kubeconfig: account.kubeconfig,
      namespaces: ["prod"],
    });
    await using _ = server;
    await waitReady(server.httpUrl);
    const client = await TestClient.connect(server.wsUrl);
    await client.call("subscribe", "personas");
    const listed = await client.call("request", "personas");
    const namespaces = (listed.payload?.personas as { namespace: string }[])
      .map((p) => p.namespace);
    assert.ok(
      namespaces.length > 0 && namespaces.every((ns) => ns === "prod"),
      namespaces.join(),
    );
    await patchStatus(
      env.primary,
      `${PERSONAS}/staging/applicationpersonas/elsewhere`,
      { phase: "Failed" },
    );
    await patchStatus(
      env.primary,
      `${PERSONAS}/prod/applicationpersonas/steady`,
      { phase: "Pending" },
    );
    const [event] = await client.waitForCount(
      (m) => m.type === "event",
      1,
      "the prod event",
    );
    assert.equal(event.payload?.name, "steady");
    await delay(500);
    assert.equal(client.events("personas").length, 1);
    assert.deepEqual(log.lines.filter((l) => l.level === "warn"), []);
    await client.close();
  },
});

Deno.test({
  name: "stop the control plane",
  ...unsanitized,
  async fn() {
    await env?.stop();
  },
});
