import assert from "node:assert/strict";
import { Hub, QueryError } from "../src/hub/mod.ts";
import type { Topic } from "../src/protocol/mod.ts";
import { ClusterState, type Resource, RESOURCES } from "../src/sources/mod.ts";
import { captureLog } from "./support/server.ts";

function persona(
  name: string,
  options: {
    namespace?: string;
    app?: string;
    phase?: string;
    health?: string;
    uid?: string;
    lastCheck?: string;
    validation?: {
      passed: boolean;
      issues: { severity: string; message: string }[];
    };
  } = {},
) {
  return {
    apiVersion: "dorgu.io/v1",
    kind: "ApplicationPersona",
    metadata: {
      name,
      namespace: options.namespace ?? "prod",
      uid: options.uid ?? `uid-${name}`,
    },
    spec: { name: options.app ?? name, type: "api", tier: "critical" },
    status: {
      phase: options.phase ?? "Active",
      health: {
        status: options.health ?? "Healthy",
        lastCheck: options.lastCheck,
      },
      validation: options.validation,
    },
  };
}

function cluster(
  nodes: string[],
  options: {
    phase?: string;
    version?: string;
    name?: string;
    created?: string;
  } = {},
) {
  return {
    metadata: {
      name: options.name ?? "c1",
      uid: "uid-c1",
      creationTimestamp: options.created ?? "2026-01-01T00:00:00Z",
    },
    spec: {
      name: options.name ? `${options.name}-spec` : "my-cluster",
      environment: "prod",
    },
    status: {
      phase: options.phase ?? "Ready",
      kubernetesVersion: options.version ?? "v1.29.0",
      platform: "EKS",
      applicationCount: 5,
      nodes: nodes.map((name) => ({ name, ready: true })),
      addons: [{ name: "argocd", installed: true }, {
        name: "istio",
        installed: false,
      }],
    },
  };
}

function deployment(name: string, ready: number, namespace = "prod") {
  return {
    metadata: { name, namespace, uid: `uid-d-${name}`, generation: 1 },
    spec: {
      replicas: 3,
      template: { spec: { containers: [{ image: `img/${name}:1` }] } },
    },
    status: {
      observedGeneration: 1,
      replicas: 3,
      readyReplicas: ready,
      updatedReplicas: 3,
      availableReplicas: ready,
    },
  };
}

function kubeEvent(name: string, count: number, last: string) {
  return {
    metadata: { name, namespace: "prod", uid: `uid-e-${name}` },
    involvedObject: { kind: "Pod", namespace: "prod", name: `${name}-pod` },
    type: "Warning",
    reason: "BackOff",
    message: "restarting",
    count,
    lastTimestamp: last,
  };
}

function setup() {
  const hub = new Hub({ historySize: 1000, epoch: "E" });
  const log = captureLog();
  const state = new ClusterState(hub, { log: log.logger });
  const seen = { personas: 0, cluster: 0, deployments: 0, events: 0 } as Record<
    Topic,
    number
  >;
  // Payloads published since the last call, per topic.
  const published = (topic: Topic) => {
    const all = hub.recent(topic, { limit: 1000 });
    const fresh = all.slice(seen[topic]);
    seen[topic] = all.length;
    return fresh as unknown as Record<string, unknown>[];
  };
  const sync = (resource: Resource, objects: unknown[]) => {
    const listing = state.resync(resource);
    objects.forEach((o) => listing.add(o));
    listing.commit();
  };
  return { hub, state, log, published, sync };
}

Deno.test("the first list fills the cache without streaming state as news", () => {
  const { state, published, sync } = setup();
  assert.equal(state.ready, false);
  sync("personas", [
    persona("a"),
    persona("b", {
      validation: {
        passed: false,
        issues: [{ severity: "warning", message: "w" }],
      },
    }),
  ]);
  sync("clusters", [cluster(["n1"])]);
  sync("deployments", [deployment("a", 3)]);
  sync("events", [
    kubeEvent("late", 1, "2026-01-02T00:00:00Z"),
    kubeEvent("early", 2, "2026-01-01T00:00:00Z"),
  ]);
  assert.equal(state.ready, true);
  assert.deepEqual(published("personas"), []);
  assert.deepEqual(published("cluster"), []);
  assert.deepEqual(published("deployments"), []);
  // The events topic is a log: current validation results and Events,
  // oldest first, are its history.
  assert.deepEqual(published("events").map((e) => [e.kind, e.name]), [
    ["validation", "b"],
    ["kubernetes", "early"],
    ["kubernetes", "late"],
  ]);
});

Deno.test("persona events: created, updated only on summary changes, deleted", () => {
  const { state, published, sync } = setup();
  sync("personas", []);
  state.upsert("personas", persona("a"));
  state.upsert("personas", persona("a", { lastCheck: "2026-01-01T00:00:01Z" }));
  state.upsert("personas", persona("a", { lastCheck: "2026-01-01T00:00:02Z" }));
  state.upsert(
    "personas",
    persona("a", { phase: "Degraded", health: "Unhealthy" }),
  );
  state.remove("personas", { metadata: { name: "a", namespace: "prod" } });
  state.remove("personas", { metadata: { name: "a", namespace: "prod" } });
  assert.deepEqual(published("personas"), [
    {
      eventType: "created",
      namespace: "prod",
      name: "a",
      phase: "Active",
      health: "Healthy",
    },
    {
      eventType: "updated",
      namespace: "prod",
      name: "a",
      phase: "Degraded",
      health: "Unhealthy",
    },
    {
      eventType: "deleted",
      namespace: "prod",
      name: "a",
      phase: "Degraded",
      health: "Unhealthy",
    },
  ]);
});

Deno.test("validation events carry the highest severity and only fire on change", () => {
  const { state, published, sync } = setup();
  sync("personas", [persona("a")]);
  const issues = [
    { severity: "info", message: "i" },
    { severity: "error", message: "replicas below minimum" },
    { severity: "warning", message: "runAsNonRoot not enforced" },
  ];
  state.upsert(
    "personas",
    persona("a", { validation: { passed: false, issues } }),
  );
  state.upsert(
    "personas",
    persona("a", { validation: { passed: false, issues }, lastCheck: "x" }),
  );
  state.upsert(
    "personas",
    persona("a", { validation: { passed: true, issues: [] } }),
  );
  state.upsert(
    "personas",
    persona("a", {
      validation: {
        passed: true,
        issues: [{ severity: "Warning", message: "w" }],
      },
    }),
  );
  assert.deepEqual(published("events"), [
    {
      kind: "validation",
      namespace: "prod",
      name: "a",
      passed: false,
      issueCount: 3,
      severity: "error",
      issues: ["i", "replicas below minimum", "runAsNonRoot not enforced"],
    },
    {
      kind: "validation",
      namespace: "prod",
      name: "a",
      passed: true,
      issueCount: 0,
      severity: "none",
      issues: [],
    },
    {
      kind: "validation",
      namespace: "prod",
      name: "a",
      passed: true,
      issueCount: 1,
      severity: "warning",
      issues: ["w"],
    },
  ]);
  assert.deepEqual(published("personas"), []);
});

Deno.test("a relist emits exactly what changed while disconnected, once", () => {
  const { state, published, sync } = setup();
  sync("personas", [
    persona("keep"),
    persona("change"),
    persona("gone"),
    persona("recreated"),
  ]);
  sync("personas", [
    persona("keep", { lastCheck: "later" }),
    persona("change", { phase: "Failed" }),
    persona("new"),
    persona("recreated", { uid: "another-uid" }),
  ]);
  assert.deepEqual(
    published("personas").map((e) => `${e.eventType} ${e.name}`),
    [
      "updated change",
      "created new",
      "deleted recreated",
      "created recreated",
      "deleted gone",
    ],
  );
  sync("personas", [
    persona("keep"),
    persona("change", { phase: "Failed" }),
    persona("new"),
    persona("recreated", { uid: "another-uid" }),
  ]);
  assert.deepEqual(published("personas"), []);
  assert.equal(state.stats().get("personas")?.objects, 4);
});

Deno.test("cluster events: one per node added or removed, updated on other changes", () => {
  const { state, published, sync } = setup();
  sync("clusters", [cluster(["n1", "n2"])]);
  state.upsert("clusters", cluster(["n1", "n2"]));
  state.upsert("clusters", cluster(["n1", "n3", "n4"]));
  state.upsert("clusters", cluster(["n1", "n3", "n4"], { phase: "Degraded" }));
  state.upsert(
    "clusters",
    cluster(["n1", "n3", "n4"], { phase: "Degraded", version: "v1.30.1" }),
  );
  assert.deepEqual(published("cluster"), [
    {
      eventType: "nodeAdded",
      node: "n3",
      name: "my-cluster",
      phase: "Ready",
      nodeCount: 3,
      applicationCount: 5,
    },
    {
      eventType: "nodeAdded",
      node: "n4",
      name: "my-cluster",
      phase: "Ready",
      nodeCount: 4,
      applicationCount: 5,
    },
    {
      eventType: "nodeRemoved",
      node: "n2",
      name: "my-cluster",
      phase: "Ready",
      nodeCount: 3,
      applicationCount: 5,
    },
    {
      eventType: "updated",
      name: "my-cluster",
      phase: "Degraded",
      nodeCount: 3,
      applicationCount: 5,
    },
    {
      eventType: "updated",
      name: "my-cluster",
      phase: "Degraded",
      nodeCount: 3,
      applicationCount: 5,
    },
  ]);
  state.remove("clusters", { metadata: { name: "c1" } });
  assert.deepEqual(
    published("cluster").map((e) => [e.eventType, e.node, e.deleted]),
    [
      ["nodeRemoved", "n1", undefined],
      ["nodeRemoved", "n3", undefined],
      ["nodeRemoved", "n4", undefined],
      ["updated", undefined, true],
    ],
  );
});

Deno.test("deployment events follow counters and the persona link", () => {
  const { state, published, sync } = setup();
  sync("personas", []);
  sync("deployments", [deployment("web", 1)]);
  state.upsert("deployments", deployment("web", 3));
  state.upsert("deployments", deployment("web", 3));
  state.upsert("personas", persona("web-persona", { app: "web" }));
  state.remove("personas", persona("web-persona", { app: "web" }));
  state.remove("deployments", deployment("web", 3));
  const events = published("deployments");
  assert.deepEqual(
    events.map((e) => [e.eventType, e.readyReplicas, e.rollout, e.persona]),
    [
      ["updated", 3, "complete", undefined],
      ["updated", 3, "complete", "web-persona"],
      ["updated", 3, "complete", undefined],
      ["deleted", 3, "complete", undefined],
    ],
  );
  assert.deepEqual(events[0], {
    eventType: "updated",
    namespace: "prod",
    name: "web",
    replicas: 3,
    readyReplicas: 3,
    updatedReplicas: 3,
    availableReplicas: 3,
    images: ["img/web:1"],
    rollout: "complete",
  });
});

Deno.test("Kubernetes events stream again when they recur, not when they expire", () => {
  const { state, published, sync } = setup();
  sync("events", []);
  state.upsert("events", kubeEvent("e", 1, "t1"));
  state.upsert("events", kubeEvent("e", 1, "t1"));
  state.upsert("events", kubeEvent("e", 2, "t2"));
  state.remove("events", kubeEvent("e", 2, "t2"));
  assert.deepEqual(
    published("events").map((e) => [e.name, e.count, e.lastTimestamp]),
    [
      ["e", 1, "t1"],
      ["e", 2, "t2"],
    ],
  );
});

Deno.test("queries answer from the cache, sorted and filtered", () => {
  const { state, sync } = setup();
  for (const r of RESOURCES) sync(r, []);
  state.upsert("personas", persona("b", { namespace: "staging" }));
  state.upsert("personas", persona("z"));
  state.upsert("personas", persona("a"));
  state.upsert("deployments", deployment("a", 2));
  const names = (answer: unknown) =>
    (answer as { personas: { namespace: string; name: string }[] }).personas
      .map((p) => `${p.namespace}/${p.name}`);
  assert.deepEqual(names(state.answer({ topic: "personas" }, null)), [
    "prod/a",
    "prod/z",
    "staging/b",
  ]);
  assert.deepEqual(
    names(
      state.answer({ topic: "personas", namespace: "prod", name: "z" }, null),
    ),
    ["prod/z"],
  );
  assert.deepEqual(
    names(state.answer({ topic: "personas" }, new Set(["staging"]))),
    ["staging/b"],
  );
  assert.deepEqual(state.answer({ topic: "personas", name: "a" }, null), {
    personas: [{
      namespace: "prod",
      name: "a",
      appName: "a",
      type: "api",
      tier: "critical",
      phase: "Active",
      health: "Healthy",
    }],
  });
  assert.deepEqual(state.answer({ topic: "deployments" }, null), {
    deployments: [{
      namespace: "prod",
      name: "a",
      replicas: 3,
      readyReplicas: 2,
      updatedReplicas: 3,
      availableReplicas: 2,
      images: ["img/a:1"],
      rollout: "progressing",
      persona: "a",
    }],
  });
});

Deno.test("cluster query: by metadata or spec name, else the oldest; not_found otherwise", () => {
  const { state, sync } = setup();
  for (const r of RESOURCES) sync(r, []);
  assert.throws(
    () => state.answer({ topic: "cluster" }, null),
    (e: unknown) => e instanceof QueryError && e.code === "not_found",
  );
  state.upsert(
    "clusters",
    cluster(["n1"], { name: "young", created: "2026-05-01T00:00:00Z" }),
  );
  state.upsert(
    "clusters",
    cluster(["n1", "n2"], { name: "old", created: "2026-01-01T00:00:00Z" }),
  );
  const pick = (name?: string) =>
    (state.answer({ topic: "cluster", name }, null) as { name: string }).name;
  assert.equal(pick(), "old-spec");
  assert.equal(pick("young"), "young-spec");
  assert.equal(pick("young-spec"), "young-spec");
  assert.throws(
    () => state.answer({ topic: "cluster", name: "nope" }, null),
    /No ClusterPersona is named "nope"/,
  );
  assert.deepEqual(state.answer({ topic: "cluster", name: "old" }, null), {
    name: "old-spec",
    environment: "prod",
    phase: "Ready",
    kubernetesVersion: "v1.29.0",
    platform: "EKS",
    nodeCount: 2,
    applicationCount: 5,
    addons: ["argocd"],
  });
});

Deno.test("readiness names what is missing, and why", () => {
  const { state, sync } = setup();
  assert.match(state.notReady("personas") ?? "", /still being listed/);
  state.setProblem("clusters", "the ClusterPersona CRD is not installed");
  assert.match(
    state.notReady("cluster") ?? "",
    /cannot be read yet: the ClusterPersona CRD/,
  );
  assert.equal(state.notReady("events"), undefined);
  sync("personas", []);
  assert.equal(state.notReady("personas"), undefined);
  assert.deepEqual(Object.fromEntries(state.pending()), {
    clusters: "the ClusterPersona CRD is not installed",
    deployments: "waiting for the first list",
    events: "waiting for the first list",
  });
});

Deno.test("an object without the expected shape is skipped and logged, the rest kept", () => {
  const { state, log, sync } = setup();
  sync("personas", [persona("good"), { metadata: { namespace: "prod" } }, {
    ...persona("bad-validation"),
    status: { validation: { issues: "none" } },
  }]);
  assert.equal(state.stats().get("personas")?.objects, 1);
  assert.equal(state.stats().get("personas")?.decodeErrors, 2);
  const warnings = log.lines.filter((l) => l.level === "warn");
  assert.equal(warnings.length, 2);
  assert.match(String(warnings[1].reason), /status\.validation\.issues/);
});
