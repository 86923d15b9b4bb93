/**
 * The server driven by real WebSocket clients over loopback: the seed's
 * messages, every reply and error code, filters, resume, slow and abusive
 * clients, the HTTP endpoints, origins and tokens.
 */
import assert from "node:assert/strict";
import * as v from "valibot";
import {
  ClusterInfoSchema,
  PersonaSummarySchema,
} from "../src/protocol/mod.ts";
import {
  assertWellFormed,
  checkErrorCodes,
  checkMessageTypes,
} from "./support/protocol_check.ts";
import { RawSocket } from "./support/raw_ws.ts";
import {
  captureLog,
  copyExamples,
  delay,
  editFile,
  startTestServer,
} from "./support/server.ts";
import { TestClient } from "./support/ws_client.ts";

const SEED_TIMESTAMP = "2026-03-23T10:00:00Z";

async function exampleServer(overrides = {}) {
  const dir = await copyExamples();
  const server = await startTestServer({ source: dir, ...overrides });
  return { dir, server };
}

Deno.test("the seed's example messages get the seed's shapes back", async () => {
  const { server } = await exampleServer();
  await using _ = server;
  const client = await TestClient.connect(server.wsUrl);
  client.send({
    type: "subscribe",
    topic: "personas",
    requestId: "sub-1",
    timestamp: SEED_TIMESTAMP,
  });
  client.send({
    type: "request",
    topic: "personas",
    requestId: "req-1",
    payload: { namespace: "production" },
    timestamp: SEED_TIMESTAMP,
  });
  client.send({
    type: "request",
    topic: "cluster",
    requestId: "req-2",
    payload: { name: "eu-west-prod" },
    timestamp: SEED_TIMESTAMP,
  });
  const [sub, list, cluster] = await client.waitForCount(
    (m) => m.type === "response",
    3,
    "three responses",
  );
  assert.equal(sub.requestId, "sub-1");
  assert.equal(sub.topic, "personas");
  assert.equal(sub.payload?.status, "subscribed");
  assert.equal(sub.payload?.topic, "personas");
  assert.equal(sub.payload?.epoch, server.hub.epoch);
  assert.equal(sub.payload?.offset, 0);

  assert.equal(list.requestId, "req-1");
  const personas = list.payload?.personas as Record<string, unknown>[];
  assert.deepEqual(personas.map((p) => p.name), [
    "invoice-worker",
    "order-service",
    "payment-gateway",
    "storefront",
  ]);
  for (const persona of personas) {
    assert.ok(v.is(v.strictObject(PersonaSummarySchema.entries), persona));
  }
  assert.deepEqual(personas[1], {
    namespace: "production",
    name: "order-service",
    appName: "order-service",
    type: "api",
    tier: "critical",
    phase: "Active",
    health: "Healthy",
  });
  assert.equal(cluster.requestId, "req-2");
  assert.ok(v.is(v.strictObject(ClusterInfoSchema.entries), cluster.payload));
  assert.deepEqual(cluster.payload, {
    name: "eu-west-prod",
    environment: "production",
    phase: "Ready",
    kubernetesVersion: "v1.29.4",
    platform: "EKS",
    nodeCount: 3,
    applicationCount: 6,
    addons: ["argocd", "prometheus", "cert-manager"],
    nodes: [
      "ip-10-0-1-17.eu-west-1.compute.internal",
      "ip-10-0-2-41.eu-west-1.compute.internal",
      "ip-10-0-3-88.eu-west-1.compute.internal",
    ],
  });
  assertWellFormed(client.received);
  await client.close();
});

Deno.test("a subscriber receives PersonaEvents for edits, with consecutive offsets", async () => {
  const { dir, server } = await exampleServer();
  await using _ = server;
  const client = await TestClient.connect(server.wsUrl);
  await client.call("subscribe", "personas");
  await editFile(`${dir}/production/personas.yaml`, {
    from: "phase: Failed",
    to: "phase: Active",
  });
  await editFile(`${dir}/staging/staging.json`, {
    from: '"status": "Unknown"',
    to: '"status": "Healthy"',
  });
  const events = await client.waitForCount(
    (m) => m.type === "event",
    2,
    "two persona events",
  );
  assert.deepEqual(events.map((e) => e.payload), [
    {
      eventType: "updated",
      namespace: "production",
      name: "invoice-worker",
      phase: "Active",
      health: "Unhealthy",
    },
    {
      eventType: "updated",
      namespace: "staging",
      name: "order-service",
      phase: "Pending",
      health: "Healthy",
    },
  ]);
  assert.deepEqual(events.map((e) => e.offset), [1, 2]);
  assertWellFormed(client.received);
  await client.close();
});

Deno.test("namespace and name filters hold back everything else", async () => {
  const { dir, server } = await exampleServer();
  await using _ = server;
  const staging = await TestClient.connect(server.wsUrl);
  const byName = await TestClient.connect(server.wsUrl);
  await staging.call("subscribe", "deployments", { namespace: "staging" });
  await byName.call("subscribe", "deployments", { name: "payment-gateway" });
  await editFile(`${dir}/production/deployments.yaml`, {
    from: "readyReplicas: 2",
    to: "readyReplicas: 3",
  });
  await editFile(`${dir}/staging/staging.json`, {
    from: '"readyReplicas": 0',
    to: '"readyReplicas": 1',
  });
  const [stagingEvent] = await staging.waitForCount(
    (m) => m.type === "event",
    1,
    "staging",
  );
  const [nameEvent] = await byName.waitForCount(
    (m) => m.type === "event",
    1,
    "by name",
  );
  assert.equal(stagingEvent.payload?.name, "search-api");
  assert.equal(stagingEvent.payload?.readyReplicas, 1);
  assert.equal(nameEvent.payload?.name, "payment-gateway");
  assert.equal(nameEvent.payload?.persona, "payment-gateway");
  await delay(200);
  assert.equal(staging.events("deployments").length, 1);
  assert.equal(byName.events("deployments").length, 1);
  await staging.close();
  await byName.close();
});

Deno.test("resume replays exactly the missed events; a foreign epoch must re-list", async () => {
  const { dir, server } = await exampleServer();
  await using _ = server;
  const file = `${dir}/production/personas.yaml`;
  // Confirms each edit was applied before the next, so each is one event.
  const observer = await TestClient.connect(server.wsUrl);
  await observer.call("subscribe", "personas");
  const edit = async (from: string, to: string) => {
    const before = observer.events("personas").length;
    await editFile(file, { from, to });
    await observer.waitForCount(
      (m) => m.type === "event",
      before + 1,
      `the edit to ${to}`,
    );
  };
  const first = await TestClient.connect(server.wsUrl);
  const sub = await first.call("subscribe", "personas");
  await edit("phase: Failed", "phase: Pending");
  const [seen] = await first.waitForCount(
    (m) => m.type === "event",
    1,
    "first event",
  );
  await first.close();

  await edit("phase: Pending", "phase: Active");
  await edit("status: Unhealthy", "status: Healthy");

  const second = await TestClient.connect(server.wsUrl);
  const resumed = await second.call("subscribe", "personas", {
    since: { epoch: sub.payload?.epoch, offset: seen.offset },
  });
  assert.equal(resumed.payload?.recovered, true);
  assert.equal(resumed.payload?.replayed, 2);
  const replayed = await second.waitForCount(
    (m) => m.type === "event",
    2,
    "replay",
  );
  assert.deepEqual(replayed.map((e) => e.offset), [2, 3]);
  assert.deepEqual(replayed.map((e) => [e.payload?.phase, e.payload?.health]), [
    ["Active", "Unhealthy"],
    ["Active", "Healthy"],
  ]);
  // The replay comes after the subscribe response, and live events follow.
  assert.ok(
    second.received.indexOf(resumed) < second.received.indexOf(replayed[0]),
  );
  await edit("phase: Degraded", "phase: Failed");
  const live = await second.waitForCount(
    (m) => m.type === "event",
    3,
    "live event",
  );
  assert.equal(live[2].offset, 4);

  const third = await TestClient.connect(server.wsUrl);
  const foreign = await third.call("subscribe", "personas", {
    since: { epoch: "0000000000000000", offset: 1 },
  });
  assert.equal(foreign.payload?.recovered, false);
  assert.equal(foreign.payload?.replayed, undefined);
  const ahead = await third.call("subscribe", "personas", {
    since: { epoch: server.hub.epoch, offset: 99 },
  });
  assert.equal(ahead.payload?.recovered, false);
  await delay(100);
  assert.equal(third.events("personas").length, 0);
  for (const client of [observer, second, third]) await client.close();
});

Deno.test("a list carries the stream position, so list-then-watch has no gap or double", async () => {
  const { dir, server } = await exampleServer();
  await using _ = server;
  const file = `${dir}/production/personas.yaml`;
  const client = await TestClient.connect(server.wsUrl);
  await client.call("subscribe", "personas");
  await editFile(file, { from: "phase: Failed", to: "phase: Pending" });
  await client.waitForCount((m) => m.type === "event", 1, "event");
  const list = await client.call("request", "personas");
  assert.equal(list.epoch, server.hub.epoch);
  assert.equal(list.offset, 1);
  const listed = (list.payload?.personas as { name: string; phase: string }[])
    .find((p) => p.name === "invoice-worker");
  assert.equal(listed?.phase, "Pending");
  await editFile(file, { from: "phase: Pending", to: "phase: Active" });
  const [, next] = await client.waitForCount(
    (m) => m.type === "event",
    2,
    "event",
  );
  assert.equal(next.offset, 2);
  await client.close();
});

Deno.test("unsubscribe stops events and is idempotent", async () => {
  const { dir, server } = await exampleServer();
  await using _ = server;
  const client = await TestClient.connect(server.wsUrl);
  await client.call("subscribe", "cluster");
  const first = await client.call("unsubscribe", "cluster");
  const second = await client.call("unsubscribe", "cluster");
  for (const reply of [first, second]) {
    assert.equal(reply.type, "response");
    assert.deepEqual(reply.payload, {
      status: "unsubscribed",
      topic: "cluster",
    });
  }
  await editFile(`${dir}/cluster.yaml`, {
    from: "phase: Ready",
    to: "phase: Degraded",
  });
  await delay(400);
  assert.equal(client.events("cluster").length, 0);
  await client.close();
});

Deno.test("deployments and events requests answer from the cache and the log", async () => {
  const { server } = await exampleServer();
  await using _ = server;
  const client = await TestClient.connect(server.wsUrl);
  const deployments = await client.call("request", "deployments", {
    namespace: "production",
  });
  const list = deployments.payload?.deployments as Record<string, unknown>[];
  assert.deepEqual(list.map((d) => [d.name, d.rollout]), [
    ["invoice-worker", "failed"],
    ["order-service", "complete"],
    ["payment-gateway", "progressing"],
    ["storefront", "complete"],
  ]);
  const events = await client.call("request", "events", {
    namespace: "production",
    limit: 3,
  });
  const log = events.payload?.events as Record<string, unknown>[];
  assert.equal(log.length, 3);
  assert.deepEqual(log.map((e) => e.kind), [
    "kubernetes",
    "kubernetes",
    "kubernetes",
  ]);
  assert.equal(log[2].reason, "BackOff");
  const all = await client.call("request", "events");
  assert.equal((all.payload?.events as unknown[]).length, 10);
  assert.equal(all.offset, 10);
  await client.close();
});

Deno.test("every message type and every error code, echoing requestId and topic", async () => {
  const { dir, server } = await exampleServer({ rateBurst: 100 });
  await using _ = server;
  await checkMessageTypes(
    server.wsUrl,
    () =>
      editFile(`${dir}/production/personas.yaml`, {
        from: "phase: Failed",
        to: "phase: Active",
      }),
  );
  await checkErrorCodes(server.wsUrl);
});

Deno.test("not_ready until the source has listed; /ready says what is missing", async () => {
  const server = await startTestServer({}, {
    source: () => ({ start: () => Promise.resolve(), stop: () => {} }),
  });
  await using _ = server;
  const client = await TestClient.connect(server.wsUrl);
  const reply = await client.call("request", "personas");
  assert.equal(reply.type, "error");
  assert.equal(reply.payload?.code, "not_ready");
  assert.equal(reply.topic, "personas");
  const ready = await fetch(`${server.httpUrl}/ready`);
  assert.equal(ready.status, 503);
  assert.deepEqual(await ready.json(), {
    ready: false,
    pending: {
      personas: "waiting for the first list",
      clusters: "waiting for the first list",
      deployments: "waiting for the first list",
      events: "waiting for the first list",
    },
  });
  // Subscribing works before the first list; events simply start later.
  const sub = await client.call("subscribe", "personas");
  assert.equal(sub.type, "response");
  await client.close();
});

Deno.test("the rate limit answers rate_limited and the client stays connected", async () => {
  const { server } = await exampleServer({ rateLimit: 1, rateBurst: 5 });
  await using _ = server;
  const client = await TestClient.connect(server.wsUrl);
  for (let i = 0; i < 12; i++) {
    client.send({ type: "request", topic: "cluster", requestId: `r${i}` });
  }
  const replies = await client.waitForCount(
    (m) => m.requestId?.startsWith("r") ?? false,
    12,
    "12 replies",
  );
  const codes = replies.map((r) => r.type === "error" ? r.payload?.code : "ok");
  assert.deepEqual(codes.slice(0, 5), ["ok", "ok", "ok", "ok", "ok"]);
  assert.ok(codes.slice(5).every((c) => c === "rate_limited"), codes.join());
  assert.equal(client.socket.readyState, WebSocket.OPEN);
  const metrics = await (await fetch(`${server.httpUrl}/metrics`)).text();
  assert.match(metrics, /^dorgu_ws_rate_limited_total 7$/m);
  await client.close();
});

Deno.test("a message over 512 KiB closes the connection with 1009", async () => {
  const { server } = await exampleServer();
  await using _ = server;
  const client = await TestClient.connect(server.wsUrl);
  const fits = JSON.stringify({
    type: "request",
    topic: "cluster",
    requestId: "big",
    pad: "x".repeat(500 * 1024),
  });
  client.send(fits);
  const reply = await client.waitFor(
    (m) => m.requestId === "big",
    "reply to a message under the limit",
  );
  assert.equal(reply.type, "response");
  // Multi-byte characters count as the bytes they take.
  client.send(
    JSON.stringify({
      type: "request",
      topic: "cluster",
      pad: "\u00e9".repeat(270 * 1024),
    }),
  );
  const closed = await client.closed;
  assert.equal(closed.code, 1009);
  const metrics = await (await fetch(`${server.httpUrl}/metrics`)).text();
  assert.match(
    metrics,
    /dorgu_ws_connections_closed_total\{cause="message_too_big"\} 1/,
  );
});

Deno.test("a thousand malformed messages cost another client none of its events", async () => {
  const { server } = await exampleServer({
    rateLimit: 100_000,
    rateBurst: 100_000,
  });
  await using _ = server;
  const watcher = await TestClient.connect(server.wsUrl);
  await watcher.call("subscribe", "events");
  const abuser = await TestClient.connect(server.wsUrl);
  const random = (n: number) => Math.floor(Math.random() * n);
  const garbage = (i: number): string => {
    const choices = [
      () =>
        String.fromCharCode(
          ...Array.from({ length: 1 + random(200) }, () => random(0xd7ff)),
        ),
      () =>
        JSON.stringify({
          type: ["subscribe", "request", "unsubscribe"][random(3)],
          topic: `t${i}`,
        }),
      () =>
        JSON.stringify({
          type: "subscribe",
          topic: "personas",
          payload: { since: { epoch: random(9), offset: "x" } },
        }),
      () =>
        JSON.stringify({
          type: "request",
          topic: "events",
          payload: { limit: -random(100) },
        }),
      () =>
        JSON.stringify({
          type: "request",
          topic: "personas",
          payload: { namespace: "UPPER_" + i },
        }),
      () => "[".repeat(1 + random(5000)),
      () => JSON.stringify([i, null, { type: "subscribe" }]),
      () => JSON.stringify({ type: null, topic: {}, requestId: 5 }),
      () =>
        '{"type":"request","topic":"cluster","payload":' + "9".repeat(400) +
        "}",
      () =>
        JSON.stringify({
          type: "request",
          topic: "cluster",
          payload: { name: "" },
        }),
      () => JSON.stringify({ type: "\u0000", topic: "\ud800" }),
      () => '{"__proto__":{"type":"subscribe"},"topic":"personas"}',
    ];
    return choices[i % choices.length]();
  };
  let published = 0;
  for (let i = 0; i < 1000; i++) {
    abuser.send(garbage(i));
    if (i % 20 === 0) {
      server.hub.publish("events", {
        kind: "kubernetes",
        namespace: "prod",
        name: `e${i}`,
        type: "Warning",
        reason: "Test",
        message: `event ${i}`,
        involvedObject: { kind: "Pod", namespace: "prod", name: "p" },
        count: 1,
        lastTimestamp: new Date().toISOString(),
      }, { namespace: "prod", name: `e${i}` });
      published++;
      await delay(0);
    }
  }
  const errors = await abuser.waitForCount(
    (m) => m.type === "error",
    1000,
    "1000 error replies",
    15_000,
  );
  assert.equal(abuser.received.filter((m) => m.type !== "error").length, 0);
  const codes = new Set(errors.map((e) => e.payload?.code));
  for (
    const code of [
      "invalid_json",
      "invalid_message",
      "unknown_topic",
      "unknown_message_type",
    ]
  ) {
    assert.ok(codes.has(code), `no ${code} among ${[...codes]}`);
  }
  const received = await watcher.waitForCount(
    (m) => m.type === "event",
    published,
    "every event",
  );
  const offsets = received.map((e) => e.offset as number);
  const first = offsets[0];
  assert.deepEqual(
    offsets,
    Array.from({ length: published }, (_, i) => first + i),
  );
  assert.equal((await fetch(`${server.httpUrl}/health`)).status, 200);
  assertWellFormed([...abuser.received, ...watcher.received]);
  await watcher.close();
  await abuser.close();
});

Deno.test({
  name:
    "a client that never reads: others keep receiving, its events are dropped, then it is closed",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const { server } = await exampleServer({ writeTimeoutMs: 1000 });
    await using _ = server;
    const reader = await TestClient.connect(server.wsUrl);
    await reader.call("subscribe", "events");
    const { socket: stalled, status } = await RawSocket.connect(server.port);
    assert.equal(status, 101);
    await stalled.sendText(
      JSON.stringify({ type: "subscribe", topic: "events", requestId: "s" }),
    );
    await delay(100);
    const message = "x".repeat(16 * 1024);
    const total = 1500;
    // Deliveries the hub tries: the stalled client may be closed for its
    // write timeout before the loop ends on a busy machine, and then it is
    // not tried again.
    let tried = 0;
    for (let i = 0; i < total; i++) {
      tried += server.hub.stats().get("events")?.subscribers ?? 0;
      server.hub.publish("events", {
        kind: "kubernetes",
        namespace: "prod",
        name: `e${i}`,
        type: "Warning",
        reason: "Flood",
        message,
        involvedObject: { kind: "Pod", namespace: "prod", name: "p" },
        count: i,
        lastTimestamp: "",
      }, { namespace: "prod", name: `e${i}` });
      if (i % 50 === 0) await delay(1);
      // Once the stalled client's buffers are surely full, let the backlog
      // age past the write grace so later events count against it.
      if (i === 1000) await delay(300);
    }
    const received = await reader.waitForCount(
      (m) => m.type === "event",
      total,
      "every event",
      20_000,
    );
    assert.equal(received.at(-1)?.payload?.count, total - 1);
    const stats = server.hub.stats().get("events");
    assert.ok(
      (stats?.dropped ?? 0) > 0,
      "the stalled client had events dropped",
    );
    // Every delivery tried was either sent or dropped, none lost.
    assert.equal((stats?.sent ?? 0) + (stats?.dropped ?? 0), tried);
    assert.ok(tried > total, "the stalled client was tried too");
    const closedBy = async () => {
      const text = await (await fetch(`${server.httpUrl}/metrics`)).text();
      return /dorgu_ws_connections_closed_total\{cause="write_timeout"\} 1/
        .test(text);
    };
    const deadline = Date.now() + 5000;
    while (!(await closedBy())) {
      assert.ok(Date.now() < deadline, "the stalled client was not closed");
      await delay(100);
    }
    assert.equal(server.hub.sessions, 1);
    // What was queued for it is released at the close, not held until it
    // leaves: only its close frame (at most 127 bytes) waits now.
    const queued = Number(
      /^dorgu_ws_send_queue_bytes (\d+)$/m.exec(
        await (await fetch(`${server.httpUrl}/metrics`)).text(),
      )?.[1],
    );
    assert.ok(queued < 128, `${queued} bytes still queued`);
    // When it finally reads, it finds what the network already held, then
    // the 1008 close.
    const drained = await stalled.drain();
    assert.equal(drained.closeCode, 1008);
    assert.match(drained.reason ?? "", /Write timeout/);
    assert.ok(drained.texts.length > 0 && drained.texts.length < total);
    stalled.close();
    await reader.close();
  },
});

Deno.test({
  name: "a client that stops answering pings is closed after the read timeout",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const { server } = await exampleServer({ readTimeoutMs: 1000 });
    await using _ = server;
    const healthy = await TestClient.connect(server.wsUrl);
    const { socket: silent } = await RawSocket.connect(server.port);
    const started = Date.now();
    const frames: number[] = [];
    let close: number | undefined;
    while (close === undefined) {
      const frame = await silent.readFrame();
      if (!frame) break;
      frames.push(frame.opcode);
      if (frame.opcode === 0x8) {
        close = (frame.payload[0] << 8) | frame.payload[1];
      }
    }
    const elapsed = Date.now() - started;
    assert.deepEqual(frames, [0x9, 0x8], "a ping, then the close");
    assert.equal(close, 1001);
    assert.ok(elapsed >= 900 && elapsed < 3000, `closed after ${elapsed} ms`);
    // Deno's client answers pings, so it is still connected.
    assert.equal(healthy.socket.readyState, WebSocket.OPEN);
    assert.equal((await healthy.call("request", "cluster")).type, "response");
    silent.close();
    await healthy.close();
  },
});

Deno.test("HTTP endpoints: health, ready, metrics, and refusals of bad upgrades", async () => {
  const { server } = await exampleServer();
  await using _ = server;
  const get = (path: string, init?: RequestInit) =>
    fetch(`${server.httpUrl}${path}`, init);
  const health = await get("/health");
  assert.equal(health.status, 200);
  assert.equal(await health.text(), "ok\n");
  const ready = await get("/ready");
  assert.equal(ready.status, 200);
  assert.deepEqual(await ready.json(), { ready: true });
  const plain = await get("/ws");
  assert.equal(plain.status, 426);
  assert.equal(plain.headers.get("upgrade"), "websocket");
  await plain.body?.cancel();
  const post = await get("/ws", { method: "POST", body: "x" });
  assert.equal(post.status, 400);
  await post.body?.cancel();
  const half = await get("/ws", { headers: { upgrade: "websocket" } });
  assert.equal(half.status, 400);
  assert.match(await half.text(), /Invalid WebSocket upgrade/);
  const missing = await get("/nope");
  assert.equal(missing.status, 404);
  await missing.body?.cancel();

  const client = await TestClient.connect(server.wsUrl);
  await client.call("subscribe", "personas");
  await client.call("request", "cluster");
  const metrics = await get("/metrics");
  assert.equal(
    metrics.headers.get("content-type"),
    "text/plain; version=0.0.4; charset=utf-8",
  );
  const text = await metrics.text();
  for (
    const line of [
      /^dorgu_ws_connections 1$/m,
      /^dorgu_ws_subscriptions\{topic="personas"\} 1$/m,
      /^dorgu_ws_messages_sent_total\{topic="events"\} 0$/m,
      /^dorgu_ws_messages_dropped_total\{topic="personas"\} 0$/m,
      /^dorgu_ws_ring_buffer_events\{topic="events"\} 10$/m,
      /^dorgu_ws_ring_buffer_capacity\{topic="events"\} 1024$/m,
      /^dorgu_ws_request_duration_seconds_count\{topic="cluster"\} 1$/m,
      /^dorgu_ws_request_duration_seconds_bucket\{topic="cluster",le="\+Inf"\} 1$/m,
      /^dorgu_ws_connections_rejected_total\{reason="not_upgrade"\} 1$/m,
      /^dorgu_ws_cache_objects\{resource="personas"\} 6$/m,
      /^dorgu_ws_resource_synced\{resource="clusters"\} 1$/m,
      /^process_resident_memory_bytes \d+$/m,
    ]
  ) {
    assert.match(text, line);
  }
  for (const row of text.split("\n").filter((l) => l && !l.startsWith("#"))) {
    assert.match(row, /^[a-z_]+(\{[^}]*\})? [0-9.e+-]+$/, row);
  }
  await client.close();
});

Deno.test("browser origins: same-origin and allowed ones connect, others get 403", async () => {
  const { server } = await exampleServer({
    allowedOrigins: ["https://ops.example.com", "https://*.dorgu.dev"],
  });
  await using _ = server;
  const tryOrigin = (origin?: string) =>
    RawSocket.upgradeStatus(server.port, origin ? { origin } : {});
  assert.equal(await tryOrigin(), 101);
  assert.equal(await tryOrigin(`http://127.0.0.1:${server.port}`), 101);
  assert.equal(await tryOrigin("https://ops.example.com"), 101);
  assert.equal(await tryOrigin("https://team.dorgu.dev"), 101);
  assert.equal(await tryOrigin("https://evil.example.com"), 403);
  assert.equal(await tryOrigin("http://ops.example.com"), 403);
  assert.equal(await tryOrigin("https://dorgu.dev.evil.com"), 403);
  assert.equal(await tryOrigin("null"), 403);
  const refused = await fetch(`${server.httpUrl}/ws`, {
    headers: {
      origin: "https://evil.example.com",
      upgrade: "websocket",
      connection: "Upgrade",
      "sec-websocket-key": "dGhlIHNhbXBsZSBub25jZQ==",
      "sec-websocket-version": "13",
    },
  });
  assert.match(
    await refused.text(),
    /add https:\/\/evil\.example\.com to --allowed-origins/,
  );
});

Deno.test("the connection limit refuses the connection over it with 503", async () => {
  const { server } = await exampleServer({ maxConnections: 2 });
  await using _ = server;
  const a = await TestClient.connect(server.wsUrl);
  const b = await TestClient.connect(server.wsUrl);
  assert.equal(await RawSocket.upgradeStatus(server.port), 503);
  await a.close();
  await delay(50);
  const c = await TestClient.connect(server.wsUrl);
  await b.close();
  await c.close();
});

Deno.test("token auth: 401 without a valid token; scoped tokens see only their namespaces", async () => {
  const dir = await copyExamples();
  const tokenFile = await Deno.makeTempFile();
  await Deno.writeTextFile(
    tokenFile,
    "# token,user,namespaces\nadmin-secret,admin\nstaging-secret,dev,staging\n",
  );
  const server = await startTestServer({
    source: dir,
    auth: "token",
    tokenFile,
  });
  await using _ = server;
  const status = (headers: Record<string, string>) =>
    RawSocket.upgradeStatus(server.port, headers);
  assert.equal(await status({}), 401);
  assert.equal(await status({ authorization: "Bearer wrong" }), 401);
  assert.equal(await status({ authorization: "Bearer admin-secret" }), 101);
  const browserToken = btoa("staging-secret").replaceAll("+", "-").replaceAll(
    "/",
    "_",
  ).replace(/=+$/, "");
  const browser = await TestClient.connect(server.wsUrl, {
    protocols: ["dorgu-ws", `bearer.${browserToken}`],
  });
  assert.equal(browser.socket.protocol, "dorgu-ws");
  await browser.close();

  const dev = await TestClient.connect(server.wsUrl, {
    headers: { authorization: "Bearer staging-secret" },
  });
  const all = await dev.call("request", "personas");
  assert.deepEqual(
    (all.payload?.personas as { namespace: string }[]).map((p) => p.namespace),
    ["staging", "staging"],
  );
  const forbidden = await dev.call("request", "personas", {
    namespace: "production",
  });
  assert.equal(forbidden.type, "error");
  assert.equal(forbidden.payload?.code, "forbidden");
  const forbiddenSub = await dev.call("subscribe", "deployments", {
    namespace: "production",
  });
  assert.equal(forbiddenSub.payload?.code, "forbidden");
  const events = await dev.call("request", "events");
  assert.ok(
    (events.payload?.events as { namespace: string }[]).every((e) =>
      e.namespace === "staging"
    ),
  );
  await dev.close();
});

Deno.test("a changed token file is picked up; a broken one keeps the last good tokens", async () => {
  const dir = await copyExamples();
  const tokenFile = await Deno.makeTempFile();
  await Deno.writeTextFile(tokenFile, "first,ops\n");
  const log = captureLog();
  const server = await startTestServer(
    { source: dir, auth: "token", tokenFile },
    { log: log.logger },
  );
  await using _ = server;
  const status = (token: string) =>
    RawSocket.upgradeStatus(server.port, { authorization: `Bearer ${token}` });
  assert.equal(await status("first"), 101);
  await Deno.writeTextFile(tokenFile, "first,ops\nbroken line\n");
  await delay(2100);
  assert.equal(await status("first"), 101);
  assert.ok(
    log.lines.some((l) =>
      l.msg === "Cannot reload the token file; keeping the last good one"
    ),
  );
  await Deno.writeTextFile(tokenFile, "second,ops\n");
  await delay(2100);
  assert.equal(await status("second"), 101);
  assert.equal(await status("first"), 401);
});

Deno.test({
  name:
    "a client behind on a long stream still gets its pongs before the stream ends",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    // Budgets large enough that no event is dropped, however slowly a busy
    // machine publishes: this is about pongs, not drops.
    const { server } = await exampleServer({
      sendBuffer: 100_000,
      sendBufferBytes: 256 * 1024 * 1024,
    });
    await using _ = server;
    const { socket } = await RawSocket.connect(server.port);
    await socket.sendText(
      JSON.stringify({ type: "subscribe", topic: "events", requestId: "s" }),
    );
    assert.equal((await socket.readFrame())?.opcode, 0x1);
    // A backlog far larger than one write: the server stays busy writing
    // to this client for as long as it reads.
    const total = 1500;
    // Deliveries the hub tries: the stalled client may be closed for its
    // write timeout before the loop ends on a busy machine, and then it is
    // not tried again.
    let tried = 0;
    for (let i = 0; i < total; i++) {
      tried += server.hub.stats().get("events")?.subscribers ?? 0;
      server.hub.publish("events", {
        kind: "kubernetes",
        namespace: "prod",
        name: `e${i}`,
        type: "Normal",
        reason: "Stream",
        message: "m".repeat(10_000),
        involvedObject: { kind: "Pod", namespace: "prod", name: "p" },
        count: i,
        lastTimestamp: "",
      }, { namespace: "prod", name: `e${i}` });
    }
    await socket.sendFrame(0x9, new TextEncoder().encode("alive?"));
    let events = 0;
    let pongAfter = -1;
    while (events < total) {
      const frame = await socket.readFrame();
      assert.ok(frame, "the stream ended early");
      if (frame.opcode === 0x1) events++;
      if (frame.opcode === 0xa && pongAfter < 0) {
        assert.equal(new TextDecoder().decode(frame.payload), "alive?");
        pongAfter = events;
      }
    }
    assert.ok(
      pongAfter >= 0 && pongAfter < total - 100,
      `the pong came after ${pongAfter} of ${total} events`,
    );
    socket.close();
  },
});

Deno.test({
  name: "a client that keeps up gets its events and no progress pings",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const { server } = await exampleServer();
    await using _ = server;
    const { socket } = await RawSocket.connect(server.port);
    await socket.sendText(
      JSON.stringify({ type: "subscribe", topic: "events", requestId: "s" }),
    );
    assert.equal((await socket.readFrame())?.opcode, 0x1);
    // 150 KB in all, one event at a time with room to read each: far past
    // the 32 KiB after which a client that is behind gets a progress ping.
    const total = 300;
    const opcodes: number[] = [];
    for (let i = 0; i < total; i++) {
      server.hub.publish("events", {
        kind: "kubernetes",
        namespace: "prod",
        name: `e${i}`,
        type: "Normal",
        reason: "Steady",
        message: "m".repeat(400),
        involvedObject: { kind: "Pod", namespace: "prod", name: "p" },
        count: i,
        lastTimestamp: "",
      }, { namespace: "prod", name: `e${i}` });
      const frame = await socket.readFrame();
      assert.ok(frame, "the stream ended early");
      opcodes.push(frame.opcode);
    }
    assert.deepEqual(opcodes, Array(total).fill(0x1));
    socket.close();
  },
});
