/**
 * The cluster state: listings and watch changes turned into topic events
 * (once, and only on real change), and the queries answered from it.
 */
import assert from "node:assert/strict";
import { Hub } from "../src/hub/mod.ts";
import type { Topic } from "../src/protocol/mod.ts";
import { createState, type Resource, RESOURCES } from "../src/sources/mod.ts";
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
  const { store, queries } = createState(hub, { log: log.logger });
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
    const listing = store.resync(resource);
    objects.forEach((o) => listing.add(o));
    listing.commit();
  };
  return { hub, store, queries, log, published, sync };
}

Deno.test("the first list fills the cache without streaming state as news", () => {
  const { store, published, sync } = setup();
  assert.equal(store.readiness.ready, false);
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
  assert.equal(store.readiness.ready, true);
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
  const { store, published, sync } = setup();
  sync("personas", []);
  store.upsert("personas", persona("a"));
  store.upsert("personas", persona("a", { lastCheck: "2026-01-01T00:00:01Z" }));
  store.upsert("personas", persona("a", { lastCheck: "2026-01-01T00:00:02Z" }));
  store.upsert(
    "personas",
    persona("a", { phase: "Degraded", health: "Unhealthy" }),
  );
  store.remove("personas", { metadata: { name: "a", namespace: "prod" } });
  store.remove("personas", { metadata: { name: "a", namespace: "prod" } });
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
  const { store, published, sync } = setup();
  sync("personas", [persona("a")]);
  const issues = [
    { severity: "info", message: "i" },
    { severity: "error", message: "replicas below minimum" },
    { severity: "warning", message: "runAsNonRoot not enforced" },
  ];
  store.upsert(
    "personas",
    persona("a", { validation: { passed: false, issues } }),
  );
  store.upsert(
    "personas",
    persona("a", { validation: { passed: false, issues }, lastCheck: "x" }),
  );
  store.upsert(
    "personas",
    persona("a", { validation: { passed: true, issues: [] } }),
  );
  store.upsert(
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
  const { store, published, sync } = setup();
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
  assert.equal(store.stats().get("personas")?.objects, 4);
});

Deno.test("cluster events: one per node added or removed, updated on other changes", () => {
  const { store, published, sync } = setup();
  sync("clusters", [cluster(["n1", "n2"])]);
  store.upsert("clusters", cluster(["n1", "n2"]));
  store.upsert("clusters", cluster(["n1", "n3", "n4"]));
  store.upsert("clusters", cluster(["n1", "n3", "n4"], { phase: "Degraded" }));
  store.upsert(
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
  store.remove("clusters", { metadata: { name: "c1" } });
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
  const { store, published, sync } = setup();
  sync("personas", []);
  sync("deployments", [deployment("web", 1)]);
  store.upsert("deployments", deployment("web", 3));
  store.upsert("deployments", deployment("web", 3));
  store.upsert("personas", persona("web-persona", { app: "web" }));
  store.remove("personas", persona("web-persona", { app: "web" }));
  store.remove("deployments", deployment("web", 3));
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
  const { store, published, sync } = setup();
  sync("events", []);
  store.upsert("events", kubeEvent("e", 1, "t1"));
  store.upsert("events", kubeEvent("e", 1, "t1"));
  store.upsert("events", kubeEvent("e", 2, "t2"));
  store.remove("events", kubeEvent("e", 2, "t2"));
  assert.deepEqual(
    published("events").map((e) => [e.name, e.count, e.lastTimestamp]),
    [
      ["e", 1, "t1"],
      ["e", 2, "t2"],
    ],
  );
});

Deno.test("queries answer from the cache, sorted and filtered", () => {
  const { store, queries, sync } = setup();
  for (const r of RESOURCES) sync(r, []);
  store.upsert("personas", persona("b", { namespace: "staging" }));
  const validation = {
    passed: false,
    issues: [
      { severity: "error", message: "replicas below minimum" },
      { severity: "warning", message: "runAsNonRoot not enforced" },
    ],
  };
  store.upsert("personas", persona("z", { validation }));
  store.upsert("personas", persona("a"));
  store.upsert("deployments", deployment("a", 2));
  const names = (personas: { namespace: string; name: string }[]) =>
    personas.map((p) => `${p.namespace}/${p.name}`);
  assert.deepEqual(names(queries.personas({})), [
    "prod/a",
    "prod/z",
    "staging/b",
  ]);
  assert.deepEqual(
    names(queries.personas({ namespace: "prod", name: "z" })),
    ["prod/z"],
  );
  // No authorization here: the server keeps clients to their namespaces
  // (tests/queries_test.ts).
  assert.deepEqual(names(queries.personas({ namespace: "staging" })), [
    "staging/b",
  ]);
  assert.deepEqual(queries.personas({ name: "a" }), [{
    namespace: "prod",
    name: "a",
    appName: "a",
    type: "api",
    tier: "critical",
    phase: "Active",
    health: "Healthy",
  }]);
  // Validation is detail on demand: in the answer naming the persona only.
  assert.deepEqual(queries.personas({ name: "z" })[0].validation, validation);
  assert.equal(
    queries.personas({ namespace: "prod" }).some((p) => "validation" in p),
    false,
  );
  assert.deepEqual(queries.deployments({}), [{
    namespace: "prod",
    name: "a",
    replicas: 3,
    readyReplicas: 2,
    updatedReplicas: 3,
    availableReplicas: 2,
    images: ["img/a:1"],
    rollout: "progressing",
    persona: "a",
  }]);
});

Deno.test("cluster query: by metadata or spec name, else the oldest; not_found otherwise", () => {
  const { store, queries, sync } = setup();
  for (const r of RESOURCES) sync(r, []);
  const none = queries.clusterPersona(undefined);
  assert.equal(none.ok, false);
  assert.match(
    none.ok ? "" : none.reason,
    /^No ClusterPersona exists yet; the dorgu operator creates one/,
  );
  store.upsert(
    "clusters",
    cluster(["n1"], { name: "young", created: "2026-05-01T00:00:00Z" }),
  );
  store.upsert(
    "clusters",
    cluster(["n1", "n2"], { name: "old", created: "2026-01-01T00:00:00Z" }),
  );
  const pick = (name?: string) => {
    const found = queries.clusterPersona(name);
    assert.ok(found.ok, `found ${name}`);
    return found.value.name;
  };
  assert.equal(pick(), "old-spec");
  assert.equal(pick("young"), "young-spec");
  assert.equal(pick("young-spec"), "young-spec");
  const nope = queries.clusterPersona("nope");
  assert.equal(nope.ok, false);
  assert.match(nope.ok ? "" : nope.reason, /No ClusterPersona is named "nope"/);
  assert.deepEqual(queries.clusterPersona("old"), {
    ok: true,
    value: {
      name: "old-spec",
      environment: "prod",
      phase: "Ready",
      kubernetesVersion: "v1.29.0",
      platform: "EKS",
      nodeCount: 2,
      applicationCount: 5,
      addons: ["argocd"],
      nodes: ["n1", "n2"],
    },
  });
});

Deno.test("readiness names what is missing, and why", () => {
  const { store, queries, sync } = setup();
  assert.match(queries.notReady("personas") ?? "", /still being listed/);
  store.readiness.setProblem(
    "clusters",
    "the ClusterPersona CRD is not installed",
  );
  assert.match(
    queries.notReady("cluster") ?? "",
    /cannot be read yet: the ClusterPersona CRD/,
  );
  assert.equal(queries.notReady("events"), undefined);
  sync("personas", []);
  assert.equal(queries.notReady("personas"), undefined);
  assert.deepEqual(Object.fromEntries(store.readiness.pending()), {
    clusters: "the ClusterPersona CRD is not installed",
    deployments: "waiting for the first list",
    events: "waiting for the first list",
  });
});

Deno.test("an object without the expected shape is skipped and logged, the rest kept", () => {
  const { store, log, sync } = setup();
  sync("personas", [persona("good"), { metadata: { namespace: "prod" } }, {
    ...persona("bad-validation"),
    status: { validation: { issues: "none" } },
  }]);
  assert.equal(store.stats().get("personas")?.objects, 1);
  assert.equal(store.stats().get("personas")?.decodeErrors, 2);
  const warnings = log.lines.filter((l) => l.level === "warn");
  assert.equal(warnings.length, 2);
  assert.match(String(warnings[1].reason), /status\.validation\.issues/);
});

Deno.test("objects outside Kubernetes' bounds are skipped, logged and counted, never published", () => {
  const { store, log, published, sync } = setup();
  for (const r of RESOURCES) sync(r, []);
  const good = persona("fine");
  const tooMany = (n: number) =>
    Array.from(
      { length: n },
      (_, i) => ({ severity: "info", message: `${i}` }),
    );
  const bad: [string, unknown][] = [
    ["a 1 MiB name", persona("a".repeat(1024 * 1024))],
    ["a 254-character name", persona("a".repeat(254))],
    ["an upper-case name", persona("Web")],
    ["a name with a slash", persona("a/b")],
    ["a 64-character namespace", persona("x", { namespace: "n".repeat(64) })],
    ["a namespace with a dot", persona("x", { namespace: "a.b" })],
    ["a 1 MiB app name", persona("x", { app: "a".repeat(1024 * 1024) })],
    ["a 2 KiB phase", persona("x", { phase: "P".repeat(2048) })],
    [
      "257 validation issues",
      persona("x", {
        validation: { passed: false, issues: tooMany(257) },
      }),
    ],
    [
      "a 5 KiB issue",
      persona("x", {
        validation: {
          passed: false,
          issues: [{ severity: "error", message: "m".repeat(5000) }],
        },
      }),
    ],
  ];
  for (const [, object] of bad) store.upsert("personas", object);
  store.upsert("personas", good);
  store.upsert(
    "clusters",
    cluster(Array.from({ length: 5001 }, (_, i) => `n${i}`)),
  );
  store.upsert("events", {
    ...kubeEvent("e", 1, "t"),
    message: "m".repeat(4097),
  });
  const stats = store.stats();
  assert.equal(stats.get("personas")?.decodeErrors, bad.length);
  assert.equal(stats.get("personas")?.objects, 1);
  assert.equal(stats.get("clusters")?.decodeErrors, 1);
  assert.equal(stats.get("events")?.decodeErrors, 1);
  assert.deepEqual(published("personas").map((e) => e.name), ["fine"]);
  assert.deepEqual(published("cluster"), []);
  assert.deepEqual(published("events"), []);
  const reasons = log.lines.filter((l) => l.level === "warn").map((l) =>
    String(l.reason)
  );
  assert.equal(reasons.length, bad.length + 2);
  assert.match(reasons[0], /^metadata\.name: must be at most 253 characters/);
  assert.match(reasons[2], /^metadata\.name: must be a DNS-1123 subdomain/);
  assert.match(
    reasons[4],
    /^metadata\.namespace: must be at most 63 characters/,
  );
  assert.match(
    reasons[8],
    /^status\.validation\.issues: must have at most 256 entries/,
  );
  assert.match(reasons[10], /^status\.nodes: must have at most 5000 entries/);
  assert.match(reasons[11], /^message: must be at most 4096 characters/);
  // Within the bounds: the longest name and namespace Kubernetes allows.
  const longest = persona(
    `${"a".repeat(63)}.${"b".repeat(63)}.${"c".repeat(63)}.${"d".repeat(61)}`,
    {
      namespace: "n".repeat(63),
    },
  );
  assert.equal(longest.metadata.name.length, 253);
  store.upsert("personas", longest);
  assert.equal(store.stats().get("personas")?.objects, 2);
});
