/**
 * How soon the Kubernetes source has caught up after the followed
 * kube-apiserver comes back, against a real etcd and kube-apiserver, with
 * the informers' default retry settings: a blip long after an earlier
 * outage, the restarted server's 429 while a watch cache initializes, a
 * frozen (SIGSTOPped) server, a connection that silently died. Writes go
 * through a second apiserver on the same etcd, so they happen while the
 * followed one is away and never touch its watch caches. Every event a
 * client receives is checked: none skipped, none doubled, and the end state
 * equals the API's. Bounds are generous; the real figures are in
 * `deno task bench` (bench/recovery.ts).
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
import { type Apiserver, Envtest } from "./support/envtest.ts";
import { TcpProxy } from "./support/proc.ts";
import {
  captureLog,
  delay,
  startTestServer,
  type TestServer,
  waitReady,
} from "./support/server.ts";
import { TestClient } from "./support/ws_client.ts";

const unsanitized = { sanitizeOps: false, sanitizeResources: false };
const PERSONAS = "/apis/dorgu.io/v1/namespaces/prod/applicationpersonas";
const LABEL = "applicationpersonas.dorgu.io/v1 in all namespaces";
let env: Envtest;
let writer: Apiserver;
let changes = 0;

async function clusterServer(
  options: { kubeconfig?: string; stallMs?: number } = {},
) {
  const log = captureLog();
  const server = await startTestServer({ source: "kubernetes" }, {
    log: log.logger,
    source: (store, logger) =>
      new KubernetesSource(store, {
        credentials: new CredentialLoader({
          kubeconfig: options.kubeconfig ?? env.kubeconfig,
        }),
        namespaces: [],
        log: logger,
        informer: options.stallMs ? { stallMs: options.stallMs } : {},
      }),
  });
  await waitReady(server.httpUrl);
  return { server, log };
}

/** A client that lists personas, then follows them, checking every event. */
async function follower(server: TestServer) {
  const client = await TestClient.connect(server.wsUrl);
  const view = new TopicView(["phase", "health"]);
  await client.call("subscribe", "personas");
  view.list(await client.call("request", "personas"), "personas");
  let applied = 0;
  const converged = async () => {
    const deadline = Date.now() + 20_000;
    while (true) {
      for (const message of client.received.slice(applied)) {
        if (message.type === "event" && message.topic === "personas") {
          view.apply(message);
        }
      }
      applied = client.received.length;
      try {
        assert.deepEqual(view.snapshot(), await apiPersonas(writer));
        return;
      } catch (error) {
        if (Date.now() > deadline) throw error;
        await delay(150);
      }
    }
  };
  // Changes the probe persona through the writer; `arrived` resolves with
  // the time (performance.now()) its event reaches the client.
  const change = async () => {
    const count = ++changes;
    const seen =
      client.events("personas").filter((m) => m.payload?.name === "probe")
        .length;
    await patchStatus(writer, `${PERSONAS}/probe`, { phase: `Phase-${count}` });
    return client.waitForCount(
      (m) =>
        m.type === "event" && m.topic === "personas" &&
        m.payload?.name === "probe",
      seen + 1,
      `the change to Phase-${count}`,
      60_000,
    ).then(() => performance.now());
  };
  return { client, converged, change };
}

/** The time of the first captured log line matching, in ms since the epoch. */
function loggedAt(
  lines: Record<string, unknown>[],
  match: (line: Record<string, unknown>) => boolean,
  after = 0,
): number | undefined {
  const line = lines.find((l) =>
    match(l) && Date.parse(String(l.time)) > after
  );
  return line && Date.parse(String(line.time));
}

Deno.test({
  name: "start the control plane and a second apiserver for writes",
  ...unsanitized,
  async fn() {
    env = await Envtest.start();
    await env.installCrds();
    await env.ensureNamespace("prod");
    await env.apply(
      ["probe", "steady"].map((name) => persona("prod", name)),
    );
    writer = await env.startSecondary();
  },
});

Deno.test({
  name:
    "after a 20 s outage the restarted server is followed again within seconds; its 429 (watch cache initializing) is retried after Retry-After, not the backoff",
  ...unsanitized,
  async fn() {
    const { server, log } = await clusterServer();
    await using _ = server;
    const view = await follower(server);
    await env.primary.stop();
    const arrived = view.change();
    await delay(20_000);
    const restarting = Date.now();
    await env.primary.start();
    const back = performance.now();
    const caughtUpMs = await arrived - back;
    await view.converged();
    // The first watch of a CRD after a restart usually finds that
    // resource's watch cache still being built: 429, Retry-After: 1. When
    // the cache wins the race, the watch's version is too old for it
    // instead: 410 and a relist, at once.
    const lines = log.lines.filter((l) =>
      l.resource === LABEL && Date.parse(String(l.time)) > restarting
    );
    const refused = loggedAt(
      lines,
      (l) =>
        l.level === "warn" &&
        /^the API server asked to retry later: storage is \(re\)initializing/
          .test(String(l.reason)),
    );
    if (refused) {
      const reading = loggedAt(
        lines,
        (l) => l.msg === `Reading ${LABEL} again`,
        refused,
      );
      assert.ok(reading, "the watch was accepted after the 429");
      assert.ok(
        reading - refused >= 900 && reading - refused < 3000,
        `${reading - refused} ms between the 429 and the next watch`,
      );
    } else {
      assert.ok(
        lines.some((l) =>
          l.msg === "The watch's resource version expired; relisting"
        ),
        `neither a 429 nor a 410 after the restart: ${JSON.stringify(lines)}`,
      );
    }
    assert.ok(caughtUpMs < 10_000, `caught up ${caughtUpMs} ms after`);
    await view.client.close();
  },
});

Deno.test({
  name:
    "a blip long after an earlier outage is caught up within seconds, nothing lost or doubled",
  ...unsanitized,
  async fn() {
    const { server } = await clusterServer();
    await using _ = server;
    const view = await follower(server);
    // An outage long enough to push the backoff to several seconds, over
    // once its change has arrived.
    await env.primary.stop();
    const recovered = view.change();
    await delay(20_000);
    await env.primary.start();
    await recovered;
    await view.converged();
    // Quiet for longer than an open watch takes to prove the connection
    // healthy (no event, and too soon for a bookmark).
    await delay(15_000);
    await env.primary.stop();
    const arrived = view.change();
    await env.primary.start();
    const back = performance.now();
    const caughtUpMs = await arrived - back;
    await view.converged();
    assert.ok(caughtUpMs < 6000, `caught up ${caughtUpMs} ms after the blip`);
    await view.client.close();
  },
});

Deno.test({
  name:
    "a frozen (SIGSTOPped) API server: the silent watch is noticed, retried, and caught up once it thaws",
  ...unsanitized,
  async fn() {
    const { server, log } = await clusterServer({ stallMs: 2000 });
    await using _ = server;
    const view = await follower(server);
    const frozen = Date.now();
    env.primary.signal("SIGSTOP");
    const arrived = view.change();
    try {
      await delay(7000);
    } finally {
      env.primary.signal("SIGCONT");
    }
    const back = performance.now();
    const caughtUpMs = await arrived - back;
    await view.converged();
    assert.ok(
      loggedAt(
        log.lines,
        (l) =>
          l.level === "warn" && l.resource === LABEL &&
          String(l.reason).endsWith("no answer to a watch within 2 s"),
        frozen,
      ),
      "a watch was tried and timed out while the server was frozen",
    );
    assert.ok(caughtUpMs < 5000, `caught up ${caughtUpMs} ms after SIGCONT`);
    await view.client.close();
  },
});

Deno.test({
  name:
    "a connection that silently died is replaced within the stall interval, nothing lost or doubled",
  ...unsanitized,
  async fn() {
    const proxy = new TcpProxy(Number(new URL(env.primary.server).port));
    proxy.start();
    try {
      const config = JSON.parse(await Deno.readTextFile(env.kubeconfig));
      config.clusters[0].cluster.server = `https://127.0.0.1:${proxy.port}`;
      const kubeconfig = `${env.dir}/kubeconfig-proxy`;
      await Deno.writeTextFile(kubeconfig, JSON.stringify(config));
      const { server } = await clusterServer({ kubeconfig, stallMs: 2000 });
      await using _ = server;
      const view = await follower(server);
      proxy.freeze();
      const frozen = performance.now();
      const arrived = await view.change();
      await view.converged();
      const caughtUpMs = arrived - frozen;
      assert.ok(caughtUpMs < 6000, `caught up ${caughtUpMs} ms after`);
      await view.client.close();
    } finally {
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
