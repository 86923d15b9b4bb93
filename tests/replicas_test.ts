/**
 * Replicas: two servers against one real kube-apiserver, as the chart runs
 * them with replicaCount > 1. Each follows the API on its own (4 watches
 * each; the API server is what they share), both converge on the API's
 * state, and a client that resumes against the other replica gets
 * `recovered: false`, re-lists, and loses nothing and doubles nothing.
 */
import assert from "node:assert/strict";
import { CredentialLoader } from "../src/kube/mod.ts";
import { KubernetesSource } from "../src/sources/kubernetes.ts";
import {
  apiPersonas,
  patchStatus,
  persona,
  TopicView,
} from "./support/cluster_objects.ts";
import { Envtest } from "./support/envtest.ts";
import { spawnCli, TcpProxy } from "./support/proc.ts";
import {
  captureLog,
  delay,
  eventually,
  startTestServer,
  type TestServer,
  waitReady,
} from "./support/server.ts";
import { type Message, TestClient } from "./support/ws_client.ts";

const unsanitized = { sanitizeOps: false, sanitizeResources: false };
const PERSONAS = "/apis/dorgu.io/v1/namespaces/prod/applicationpersonas";
const FIELDS = ["phase", "health"];

let env: Envtest;

async function replica(): Promise<TestServer> {
  return await startTestServer({ source: "kubernetes" }, {
    log: captureLog().logger,
    source: (store, log) =>
      new KubernetesSource(store, {
        credentials: new CredentialLoader({ kubeconfig: env.kubeconfig }),
        namespaces: [],
        log,
        informer: { backoffMs: [100, 800] },
      }),
  });
}

/** Open WATCH requests the API server is serving now. */
async function apiWatches(): Promise<number> {
  const text = await (await env.primary.fetch("/metrics")).text();
  let watches = 0;
  for (
    const [, labels, value] of text.matchAll(
      /^apiserver_longrunning_requests\{([^}]*)\} (\S+)$/gm,
    )
  ) {
    if (/verb="WATCH"/.test(labels)) watches += Number(value);
  }
  return watches;
}

/** The personas a client sees, flattened to the API's shape. */
function rows(view: TopicView): Record<string, Record<string, unknown>> {
  return Object.fromEntries(
    Object.entries(view.snapshot()).map(([key, row]) => [key, {
      phase: row.phase ?? "",
      health: row.health ?? "",
    }]),
  );
}

async function setPhase(name: string, phase: string): Promise<void> {
  await patchStatus(env.primary, `${PERSONAS}/${name}`, {
    phase,
    health: { status: phase === "Active" ? "Healthy" : "Degraded" },
  });
}

Deno.test({
  name:
    "two replicas follow the API on their own and converge; a client moving between them re-lists and loses nothing",
  ...unsanitized,
  async fn() {
    env = await Envtest.start();
    await env.installCrds();
    await env.ensureNamespace("prod");
    for (const name of ["api", "web", "worker"]) {
      await env.apply([
        persona("prod", name, { status: { phase: "Pending" } }),
      ]);
    }
    const before = await apiWatches();
    await using a = await replica();
    await using b = await replica();
    await waitReady(a.httpUrl);
    await waitReady(b.httpUrl);
    // Four watches each (personas, cluster personas, deployments, events):
    // the API server does the sharing, the replicas do not talk.
    await eventually(async () => assert.equal(await apiWatches() - before, 8));
    assert.notEqual(a.hub.epoch, b.hub.epoch);

    // Both converge on what the API holds, through changes too.
    await setPhase("api", "Active");
    await env.api("DELETE", `${PERSONAS}/worker`);
    const api = await apiPersonas(env.primary);
    for (const server of [a, b]) {
      await eventually(async () => {
        const client = await TestClient.connect(server.wsUrl);
        try {
          const view = new TopicView(FIELDS);
          view.list(await client.call("request", "personas"), "personas");
          assert.deepEqual(rows(view), api);
        } finally {
          await client.close();
        }
      });
    }

    // A client follows replica A: list, then subscribe from the listing.
    const view = new TopicView(FIELDS);
    const first = await TestClient.connect(a.wsUrl);
    const listed = await first.call("request", "personas");
    view.list(listed, "personas");
    const subscribed = await first.call("subscribe", "personas", {
      since: { epoch: listed.epoch, offset: listed.offset },
    });
    assert.equal(subscribed.payload?.recovered, true);
    await setPhase("web", "Active");
    const seen = await first.waitFor(
      (m) => m.type === "event" && m.payload?.name === "web",
      "web's update on replica A",
    );
    for (const event of first.events("personas")) view.apply(event);
    await first.close();

    // Replica A goes away; changes go on while the client reconnects.
    await setPhase("api", "Degraded");
    await env.apply([
      persona("prod", "batch", { status: { phase: "Active" } }),
    ]);
    await env.api("DELETE", `${PERSONAS}/web`);

    // The load balancer sends it to replica B, which has another epoch:
    // nothing to replay, so the client lists again from B.
    const second = await TestClient.connect(b.wsUrl);
    const resumed = await second.call("subscribe", "personas", {
      since: { epoch: listed.epoch, offset: seen.offset },
    });
    assert.equal(resumed.type, "response");
    assert.equal(resumed.payload?.recovered, false);
    assert.equal(resumed.payload?.epoch, b.hub.epoch);
    await eventually(async () => {
      const relisted = await second.call("request", "personas");
      view.list(relisted, "personas");
      assert.deepEqual(rows(view), await apiPersonas(env.primary));
    });
    // And it follows B from there: no event lost, none doubled.
    await setPhase("batch", "Failed");
    await env.apply([
      persona("prod", "cron", { status: { phase: "Pending" } }),
    ]);
    const expected = await apiPersonas(env.primary);
    await eventually(() => {
      for (const event of second.events("personas")) view.apply(event);
      assert.deepEqual(rows(view), expected);
    });
    await second.close();
  },
});

Deno.test({
  name:
    "dorgu-ws watch through a load balancer that moves it to the other replica says so, re-lists, and shows what changed meanwhile",
  ...unsanitized,
  async fn() {
    await using a = await replica();
    await using b = await replica();
    await waitReady(a.httpUrl);
    await waitReady(b.httpUrl);
    await env.apply([
      persona("prod", "nightly", { status: { phase: "Pending" } }),
    ]);
    const proxy = new TcpProxy(a.port);
    proxy.start();
    const watch = spawnCli([
      "watch",
      "personas",
      "-o",
      "json",
      "--url",
      `ws://127.0.0.1:${proxy.port}/ws`,
    ]);
    try {
      await watch.waitFor((line) => line.includes('"type":"response"'));
      await setPhase("nightly", "Active");
      await watch.waitFor((line) =>
        line.includes('"name":"nightly"') && line.includes('"phase":"Active"')
      );
      proxy.stop();
      await watch.waitFor((l) => l.includes("lost the connection"), {
        stream: "stderr",
      });
      await setPhase("nightly", "Failed");
      await delay(300);
      proxy.retarget(b.port);
      proxy.start();
      await watch.waitFor((l) => l.includes("cannot replay what was missed"), {
        stream: "stderr",
      });
      // The second listing (from B) has the change made in between.
      const [, relisted] = await watch.waitFor(
        (line) => line.includes('"type":"response"'),
        { count: 2 },
      );
      const message = JSON.parse(relisted) as Message;
      assert.equal(message.epoch, b.hub.epoch);
      const nightly = (message.payload?.personas as Record<string, unknown>[])
        .find((p) => p.name === "nightly");
      assert.equal(nightly?.phase, "Failed");
    } finally {
      await watch.stop();
      proxy.stop();
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
