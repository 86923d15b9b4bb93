/**
 * The pure pieces of the sources: the events each topic derives from one
 * change, the app index, and the labels of listings. No hub, no source.
 */
import assert from "node:assert/strict";
import {
  AppIndex,
  type ChangeOf,
  clusterPersonaEvents,
  type ClusterProjection,
  deploymentEvents,
  type DeploymentProjection,
  type EventProjection,
  kubernetesEvents,
  listingLabel,
  personaEvents,
  type PersonaProjection,
  type Projections,
  type Resource,
  RESOURCE_INFO,
  validationEvents,
} from "../src/sources/mod.ts";

function persona(
  name: string,
  fields: Partial<PersonaProjection> = {},
): PersonaProjection {
  return {
    uid: `uid-${name}`,
    namespace: "prod",
    name,
    appName: name,
    type: "api",
    tier: "critical",
    phase: "Active",
    health: "Healthy",
    validation: null,
    ...fields,
  };
}

function clusterPersona(
  nodes: string[],
  fields: Partial<ClusterProjection> = {},
): ClusterProjection {
  return {
    uid: "uid-c",
    objectName: "c",
    name: "my-cluster",
    environment: "prod",
    phase: "Ready",
    kubernetesVersion: "v1.30.0",
    platform: "EKS",
    nodes,
    applicationCount: 2,
    addons: [],
    created: "2026-01-01T00:00:00Z",
    ...fields,
  };
}

function deployment(
  ready: number,
  fields: Partial<DeploymentProjection> = {},
): DeploymentProjection {
  return {
    uid: "uid-d",
    namespace: "prod",
    name: "web",
    replicas: 2,
    readyReplicas: ready,
    updatedReplicas: 2,
    availableReplicas: ready,
    images: ["img:1"],
    rollout: ready === 2 ? "complete" : "progressing",
    ...fields,
  };
}

function kubeEvent(
  count: number,
  fields: Partial<EventProjection> = {},
): EventProjection {
  return {
    uid: "uid-e",
    namespace: "prod",
    name: "web.1",
    type: "Warning",
    reason: "BackOff",
    message: "restarting",
    involvedObject: { kind: "Pod", namespace: "prod", name: "web-1" },
    count,
    lastTimestamp: `2026-01-01T00:00:0${count}Z`,
    ...fields,
  };
}

function change<R extends Resource>(
  resource: R,
  previous: Projections[R] | undefined,
  next: Projections[R] | undefined,
  initial = false,
): ChangeOf<R> {
  return { resource, previous, next, initial };
}

Deno.test("personas: created, updated on summary fields only, deleted; replaced is deleted then created; nothing for the first list", () => {
  const a = persona("a");
  const kinds = (events: ReturnType<typeof personaEvents>) =>
    events.map((e) => (e.payload as { eventType: string }).eventType);
  assert.deepEqual(personaEvents(change("personas", undefined, a)), [{
    topic: "personas",
    payload: {
      eventType: "created",
      namespace: "prod",
      name: "a",
      phase: "Active",
      health: "Healthy",
    },
    keys: { namespace: "prod", name: "a" },
  }]);
  assert.deepEqual(personaEvents(change("personas", undefined, a, true)), []);
  assert.deepEqual(
    personaEvents(
      change("personas", a, {
        ...a,
        validation: { passed: true, issues: [] },
      }),
    ),
    [],
  );
  for (
    const field of ["appName", "type", "tier", "phase", "health"] as const
  ) {
    assert.deepEqual(
      kinds(personaEvents(change("personas", a, { ...a, [field]: "x" }))),
      ["updated"],
      field,
    );
  }
  assert.deepEqual(
    kinds(personaEvents(change("personas", a, { ...a, uid: "other" }))),
    ["deleted", "created"],
  );
  assert.deepEqual(kinds(personaEvents(change("personas", a, undefined))), [
    "deleted",
  ]);
});

Deno.test("validation: highest severity, any case; only when it changes; also in the first list", () => {
  const issues = [
    { severity: "Info", message: "i" },
    { severity: "ERROR", message: "e" },
    { severity: "warning", message: "w" },
  ];
  const failing = persona("a", { validation: { passed: false, issues } });
  assert.deepEqual(
    validationEvents(change("personas", undefined, failing, true)),
    [{
      topic: "events",
      payload: {
        kind: "validation",
        namespace: "prod",
        name: "a",
        passed: false,
        issueCount: 3,
        severity: "error",
        issues: ["i", "e", "w"],
      },
      keys: { namespace: "prod", name: "a" },
    }],
  );
  const same = { ...failing, phase: "Degraded" };
  assert.deepEqual(validationEvents(change("personas", failing, same)), []);
  const replaced = { ...failing, uid: "another" };
  assert.equal(
    validationEvents(change("personas", failing, replaced)).length,
    1,
  );
  const unknownSeverity = persona("a", {
    validation: { passed: true, issues: [{ severity: "odd", message: "o" }] },
  });
  assert.equal(
    (validationEvents(change("personas", failing, unknownSeverity))[0]
      .payload as { severity: string }).severity,
    "info",
  );
  const passing = persona("a", { validation: { passed: true, issues: [] } });
  assert.equal(
    (validationEvents(change("personas", failing, passing))[0].payload as {
      severity: string;
    }).severity,
    "none",
  );
  assert.deepEqual(
    validationEvents(change("personas", failing, undefined)),
    [],
  );
  assert.deepEqual(
    validationEvents(change("personas", undefined, persona("b"))),
    [],
  );
});

Deno.test("ClusterPersona: one event per node with the running count, updated for other fields, deleted last", () => {
  const before = clusterPersona(["n1", "n2"]);
  const after = clusterPersona(["n1", "n3", "n4"]);
  const summary = (events: ReturnType<typeof clusterPersonaEvents>) =>
    events.map((e) => {
      const p = e.payload as {
        eventType: string;
        node?: string;
        nodeCount: number;
      };
      return `${p.eventType} ${p.node ?? "-"} ${p.nodeCount}`;
    });
  assert.deepEqual(
    summary(clusterPersonaEvents(change("clusters", before, after))),
    [
      "nodeAdded n3 3",
      "nodeAdded n4 4",
      "nodeRemoved n2 3",
    ],
  );
  assert.deepEqual(
    clusterPersonaEvents(
      change("clusters", before, { ...before, phase: "Degraded" }),
    ),
    [{
      topic: "cluster",
      payload: {
        eventType: "updated",
        phase: "Degraded",
        nodeCount: 2,
        applicationCount: 2,
        name: "my-cluster",
      },
      keys: { name: "my-cluster", alias: "c" },
    }],
  );
  assert.deepEqual(
    clusterPersonaEvents(change("clusters", before, { ...before })),
    [],
  );
  assert.deepEqual(
    summary(clusterPersonaEvents(change("clusters", undefined, before))),
    [
      "nodeAdded n1 1",
      "nodeAdded n2 2",
      "updated - 2",
    ],
  );
  const deleted = clusterPersonaEvents(change("clusters", before, undefined));
  assert.deepEqual(summary(deleted), [
    "nodeRemoved n1 1",
    "nodeRemoved n2 0",
    "updated - 0",
  ]);
  assert.equal((deleted[2].payload as { deleted?: boolean }).deleted, true);
  assert.deepEqual(
    clusterPersonaEvents(change("clusters", undefined, before, true)),
    [],
  );
});

Deno.test("deployments: counters, images and rollout are news; the persona link is carried", () => {
  const d = deployment(1);
  assert.deepEqual(
    deploymentEvents(change("deployments", d, deployment(2)), {
      persona: "web-persona",
    }),
    [{
      topic: "deployments",
      payload: {
        eventType: "updated",
        namespace: "prod",
        name: "web",
        replicas: 2,
        readyReplicas: 2,
        updatedReplicas: 2,
        availableReplicas: 2,
        images: ["img:1"],
        rollout: "complete",
        persona: "web-persona",
      },
      keys: { namespace: "prod", name: "web" },
    }],
  );
  const none = { persona: undefined };
  assert.deepEqual(
    deploymentEvents(change("deployments", d, { ...d }), none),
    [],
  );
  assert.equal(
    deploymentEvents(
      change("deployments", d, { ...d, images: ["img:2"] }),
      none,
    )
      .length,
    1,
  );
  assert.equal(
    "persona" in
      deploymentEvents(change("deployments", undefined, d), none)[0].payload,
    false,
  );
  assert.deepEqual(
    deploymentEvents(change("deployments", undefined, d, true), none),
    [],
  );
});

Deno.test("Kubernetes events: new and recurring ones, also from the first list; expiry is silent", () => {
  const first = kubeEvent(1);
  const [event] = kubernetesEvents(change("events", undefined, first, true));
  assert.deepEqual(event.keys, {
    namespace: "prod",
    name: "web.1",
    alias: "web-1",
  });
  assert.deepEqual(
    Object.keys(event.payload),
    [
      "kind",
      "namespace",
      "name",
      "type",
      "reason",
      "message",
      "involvedObject",
      "count",
      "lastTimestamp",
    ],
  );
  assert.deepEqual(kubernetesEvents(change("events", first, { ...first })), []);
  assert.equal(
    kubernetesEvents(change("events", first, kubeEvent(2))).length,
    1,
  );
  assert.equal(
    kubernetesEvents(change("events", first, { ...first, message: "again" }))
      .length,
    1,
  );
  assert.deepEqual(kubernetesEvents(change("events", first, undefined)), []);
});

Deno.test("app index: the first claiming persona by name owns the app; relink names what moved", () => {
  const apps = new AppIndex();
  const b = persona("b", { appName: "web" });
  const a = persona("a", { appName: "web" });
  assert.deepEqual(apps.relink(undefined, b), ["prod/web"]);
  assert.equal(apps.personaOf("prod", "web"), "b");
  assert.deepEqual(apps.relink(undefined, a), ["prod/web"]);
  assert.equal(apps.personaOf("prod", "web"), "a");
  // b joining or leaving behind a changes nobody's persona.
  assert.deepEqual(apps.relink(b, undefined), []);
  assert.deepEqual(apps.relink(undefined, b), []);
  // Status churn keeps the claim and is not looked at.
  assert.deepEqual(apps.relink(a, { ...a, phase: "Failed" }), []);
  // a moves to another app: web falls to b, api is a's now.
  assert.deepEqual(apps.relink(a, { ...a, appName: "api" }), [
    "prod/web",
    "prod/api",
  ]);
  assert.equal(apps.personaOf("prod", "web"), "b");
  assert.equal(apps.personaOf("prod", "api"), "a");
  assert.equal(apps.personaOf("staging", "api"), undefined);
  assert.deepEqual(apps.relink(b, undefined), ["prod/web"]);
  assert.equal(apps.personaOf("prod", "web"), undefined);
});

Deno.test("listing labels name the core group as v1, not as a group called events", () => {
  assert.equal(
    listingLabel(RESOURCE_INFO.events),
    "events (v1) in all namespaces",
  );
  assert.equal(
    listingLabel(RESOURCE_INFO.events, "prod"),
    "events (v1) in namespace prod",
  );
  assert.equal(
    listingLabel(RESOURCE_INFO.personas),
    "applicationpersonas.dorgu.io/v1 in all namespaces",
  );
  assert.equal(
    listingLabel(RESOURCE_INFO.clusters, "prod"),
    "clusterpersonas.dorgu.io/v1",
  );
  assert.equal(
    listingLabel(RESOURCE_INFO.deployments, "prod"),
    "deployments.apps/v1 in namespace prod",
  );
});
