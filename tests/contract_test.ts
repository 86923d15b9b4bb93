/**
 * The published contract, docs/asyncapi.json: generated from the valibot
 * schemas and committed, valid AsyncAPI 3.0 by the AsyncAPI parser, served
 * by the server, complete (every message, payload, error code, close code
 * and the subprotocol), open to the seed's shapes, in step with the
 * server's own parser, and enforced by a check that can fail.
 */
import assert from "node:assert/strict";
import { Parser } from "@asyncapi/parser";
import {
  ERROR_CODES,
  parseClientMessage,
  type Topic,
  TOPICS,
} from "../src/protocol/mod.ts";
import { asyncApiText } from "../src/protocol/asyncapi.ts";
import { MESSAGE_KINDS, topicTitle } from "../src/protocol/asyncapi_schemas.ts";
import { CLOSE_CODE } from "../src/transport/frames.ts";
import { DOCUMENT, REGENERATE } from "../tools/asyncapi.ts";
import {
  checkServerFrame,
  contractDocument,
  violations,
} from "./support/contract.ts";
import { serveFake } from "./support/fake_server.ts";
import { RawSocket } from "./support/raw_ws.ts";
import { copyExamples, startTestServer } from "./support/server.ts";
import { TestClient } from "./support/ws_client.ts";

const unsanitized = { sanitizeOps: false, sanitizeResources: false };
const NOW = "2026-03-23T10:00:00Z";
type Json = Record<string, unknown>;

Deno.test("docs/asyncapi.json is what the schemas generate", async () => {
  const committed = await Deno.readTextFile(DOCUMENT);
  assert.ok(
    committed === asyncApiText(),
    `docs/asyncapi.json is stale: run '${REGENERATE}' and commit it.`,
  );
});

Deno.test("the AsyncAPI parser finds no error and no warning in the document", async () => {
  const { document, diagnostics } = await new Parser().parse(
    await Deno.readTextFile(DOCUMENT),
  );
  assert.ok(document, "the parser could not read the document");
  // Severity 0 is an error, 1 a warning, 2 information, 3 a hint. The one
  // note left says 3.1.0 exists: the document is 3.0.0, as the issue asks
  // and as most code generators read.
  const found = diagnostics.map((d) =>
    `${d.severity} ${d.code} ${d.path.join(".")}: ${d.message}`
  );
  assert.deepEqual(
    diagnostics.filter((d) => d.code !== "asyncapi-latest-version"),
    [],
    found.join("\n"),
  );
  assert.ok(diagnostics.every((d) => d.severity >= 2), found.join("\n"));
  assert.equal(document.channels().length, TOPICS.length);
  assert.equal(document.operations().length, TOPICS.length * 4);
});

Deno.test("the document holds every message, payload, error code, close code and the subprotocol", () => {
  const doc = contractDocument();
  const components = doc.components as Record<string, Record<string, Json>>;
  const schemas = components.schemas;
  for (const topic of TOPICS) {
    const channel = (doc.channels as Record<string, Json>)[topic];
    const names = Object.keys(channel.messages as Json);
    const title = topicTitle(topic as Topic);
    assert.equal(MESSAGE_KINDS.length, 7);
    assert.deepEqual(names, [
      ...MESSAGE_KINDS.map((kind) => `${title}${kind}Message`),
      "ErrorMessage",
    ]);
    for (const name of names) assert.ok(components.messages[name], name);
    const ws = (channel.bindings as Record<string, Json>).ws;
    assert.equal(ws.method, "GET");
    assert.equal(channel.address, "/ws");
    const headers = (ws.headers as Json).properties as Json;
    assert.ok(headers.Authorization && headers["Sec-WebSocket-Protocol"]);
  }
  for (
    const payload of [
      "PersonaEvent",
      "ClusterEvent",
      "ValidationEvent",
      "KubernetesEvent",
      "DeploymentEvent",
      "PersonaSummary",
      "ClusterInfo",
      "DeploymentSummary",
      "SubscribedPayload",
      "UnsubscribedPayload",
      "ErrorPayload",
    ]
  ) assert.ok(schemas[payload], payload);
  const events = {
    personas: "PersonaEvent",
    cluster: "ClusterEvent",
    deployments: "DeploymentEvent",
    events: "EventsTopicPayload",
  };
  for (const [topic, payload] of Object.entries(events)) {
    const envelope = schemas[`${topicTitle(topic as Topic)}EventMessage`];
    const properties = envelope.properties as Record<string, Json>;
    assert.equal(properties.payload.$ref, `#/components/schemas/${payload}`);
    assert.equal(properties.topic.const, topic);
  }
  assert.deepEqual(schemas.ErrorCode.enum, [...ERROR_CODES]);
  for (const code of ERROR_CODES) {
    assert.match(String(schemas.ErrorCode.description), new RegExp(code));
  }
  assert.match(String((doc.info as Json).description), /bearer\.<base64url/);
  const security = components.securitySchemes;
  assert.equal(security.subprotocol.name, "Sec-WebSocket-Protocol");
  assert.equal(security.bearer.scheme, "bearer");
});

Deno.test("the close codes documented are the ones the transport sends", async () => {
  const sent = new Set<number>();
  const codes = CLOSE_CODE as Record<string, number>;
  for (const dir of ["transport", "server"]) {
    for await (
      const entry of Deno.readDir(new URL(`../src/${dir}`, import.meta.url))
    ) {
      const text = await Deno.readTextFile(
        new URL(`../src/${dir}/${entry.name}`, import.meta.url),
      );
      for (const [, name] of text.matchAll(/CLOSE_CODE\.(\w+)/g)) {
        sent.add(codes[name]);
      }
    }
  }
  const documented = contractDocument()["x-dorgu-ws-close-codes"] as Json;
  assert.deepEqual(
    Object.keys(documented).map(Number).sort(),
    [...sent].sort(),
  );
  for (const note of Object.values(documented) as Json[]) {
    assert.equal(typeof note.retry, "boolean");
    assert.ok(String(note.sentWhen).length > 20);
  }
});

/** The seed's messages, exactly as its document shows them. */
const SEED_CLIENT: [string, Json][] = [
  ["PersonasSubscribeMessage", {
    type: "subscribe",
    topic: "personas",
    requestId: "abc-123",
    payload: {},
    timestamp: NOW,
  }],
  ["PersonasSubscribeMessage", {
    type: "subscribe",
    topic: "personas",
    requestId: "sub-1",
    timestamp: NOW,
  }],
  ["PersonasUnsubscribeMessage", { type: "unsubscribe", topic: "personas" }],
  ["PersonasRequestMessage", {
    type: "request",
    topic: "personas",
    requestId: "req-1",
    payload: { namespace: "production" },
    timestamp: NOW,
  }],
  ["ClusterRequestMessage", {
    type: "request",
    topic: "cluster",
    requestId: "req-2",
    payload: { name: "my-cluster" },
    timestamp: NOW,
  }],
];

const SEED_SERVER: Json[] = [
  {
    type: "response",
    topic: "personas",
    requestId: "sub-1",
    payload: { status: "subscribed", topic: "personas" },
    timestamp: NOW,
  },
  {
    type: "response",
    topic: "personas",
    requestId: "req-1",
    payload: {
      personas: [{
        namespace: "production",
        name: "nginx",
        appName: "nginx",
        type: "web",
        tier: "frontend",
        phase: "Active",
        health: "Healthy",
      }],
    },
  },
  {
    type: "response",
    topic: "cluster",
    requestId: "req-2",
    payload: {
      name: "my-cluster",
      environment: "production",
      phase: "Ready",
      kubernetesVersion: "v1.29.0",
      platform: "EKS",
      nodeCount: 3,
      applicationCount: 5,
      addons: ["argocd", "prometheus", "cert-manager"],
    },
  },
];

const SEED_EVENTS: [Topic, string, Json][] = [
  ["personas", "PersonaEvent", {
    eventType: "updated",
    namespace: "production",
    name: "nginx",
    phase: "Degraded",
    health: "Unhealthy",
  }],
  ["cluster", "ClusterEvent", {
    eventType: "updated",
    name: "my-cluster",
    phase: "Ready",
    nodeCount: 3,
    applicationCount: 5,
  }],
  ["events", "ValidationEvent", {
    namespace: "production",
    name: "nginx",
    passed: false,
    issueCount: 2,
    severity: "error",
    issues: ["replicas below minimum", "runAsNonRoot not enforced"],
  }],
];

Deno.test("the seed's shapes validate: its extensions are optional", () => {
  const seed = { reading: "seed" as const };
  for (const [name, message] of SEED_CLIENT) {
    assert.equal(violations(name, message, seed), undefined, name);
  }
  for (const frame of SEED_SERVER) {
    checkServerFrame(JSON.stringify(frame), seed);
    // What dorgu-ws promises on top is what the seed's shapes lack.
    assert.throws(
      () => checkServerFrame(JSON.stringify(frame)),
      /must have required property '(timestamp|epoch)'/,
    );
  }
  for (const [topic, name, payload] of SEED_EVENTS) {
    assert.equal(violations(name, payload, seed), undefined, name);
    checkServerFrame(
      JSON.stringify({ type: "event", topic, payload, timestamp: NOW }),
      seed,
    );
  }
});

Deno.test("the document accepts the client messages the server's parser accepts, and only those", () => {
  const cases: [Topic, "Subscribe" | "Request", unknown][] = [
    ["events", "Subscribe", {
      namespace: "prod",
      name: "x",
      since: { epoch: "e", offset: 7 },
    }],
    ["cluster", "Subscribe", { name: "eu-west" }],
    ["cluster", "Subscribe", { namespace: "prod" }],
    ["personas", "Subscribe", { namespace: "Prod" }],
    ["personas", "Subscribe", { since: { epoch: "e", offset: -1 } }],
    ["personas", "Subscribe", { since: { epoch: "e", offset: 1.5 } }],
    ["personas", "Subscribe", { since: { epoch: "e".repeat(65), offset: 1 } }],
    ["personas", "Subscribe", { unknown: "ignored" }],
    ["personas", "Request", { name: "" }],
    ["deployments", "Request", { namespace: "a".repeat(64) }],
    ["events", "Request", { limit: 5 }],
    ["events", "Request", { limit: 0 }],
    ["events", "Request", { limit: 10_001 }],
    ["events", "Request", { limit: "5" }],
    ["cluster", "Request", { name: 7 }],
  ];
  for (const [topic, kind, payload] of cases) {
    const message = {
      type: kind.toLowerCase(),
      topic,
      requestId: "x",
      payload,
    };
    const parsed = parseClientMessage(JSON.stringify(message)).ok;
    const documented =
      violations(`${topicTitle(topic)}${kind}Message`, message, {
        reading: "seed",
      }) === undefined;
    assert.equal(documented, parsed, JSON.stringify(message));
  }
  const longId = {
    type: "unsubscribe",
    topic: "events",
    requestId: "i".repeat(257),
  };
  assert.equal(parseClientMessage(JSON.stringify(longId)).ok, false);
  assert.notEqual(violations("EventsUnsubscribeMessage", longId), undefined);
});

Deno.test("the contract check fails a frame that breaks the document, naming what broke", () => {
  const event = (payload: Json, extra: Json = {}) =>
    JSON.stringify({
      type: "event",
      topic: "personas",
      payload,
      timestamp: NOW,
      offset: 4,
      ...extra,
    });
  const persona = {
    eventType: "updated",
    namespace: "prod",
    name: "api",
    phase: "Active",
    health: "Healthy",
  };
  checkServerFrame(event(persona));
  const fails = (text: string, pattern: RegExp) =>
    assert.throws(() => checkServerFrame(text), pattern);
  fails("{not json", /not JSON/);
  fails("[1,2]", /not a JSON object/);
  fails(
    event({ ...persona, health: undefined }),
    /"event" message on topic "personas".*PersonasEventMessage: \/payload must have required property 'health'/,
  );
  fails(event(persona, { offset: undefined }), /required property 'offset'/);
  fails(
    event(persona, { timestamp: "yesterday" }),
    /\/timestamp must match format "date-time"/,
  );
  fails(
    event({ ...persona, eventType: "renamed" }),
    /\/payload\/eventType must be equal to one of the allowed values/,
  );
  fails(
    event({ ...persona, color: "red" }),
    /must NOT have additional properties.*color/,
  );
  fails(
    JSON.stringify({
      type: "error",
      requestId: "r",
      payload: { code: "teapot", message: "I am a teapot." },
      timestamp: NOW,
    }),
    /"error" message with no topic.*\/payload\/code must be equal to one of the allowed values/,
  );
  fails(
    JSON.stringify({
      type: "response",
      topic: "personas",
      payload: { status: "maybe" },
      timestamp: NOW,
      epoch: "e",
      offset: 1,
    }),
    /"response" message on topic "personas" with status "maybe", which the document does not define/,
  );
  fails(
    JSON.stringify({ type: "welcome", topic: "personas" }),
    /"welcome" message .*does not define/,
  );
});

Deno.test({
  name:
    "a test client that receives a frame breaking the contract fails its test",
  ...unsanitized,
  async fn() {
    // A server that answers everything with an error code the contract lacks.
    const server = serveFake(({ requestId }) => [{
      type: "error",
      topic: "personas",
      requestId,
      payload: { code: "teapot", message: "No." },
      timestamp: new Date().toISOString(),
    }]);
    try {
      const client = await TestClient.connect(server.url);
      await assert.rejects(
        client.call("request", "personas"),
        /Contract.*code must be equal to one of the allowed values/,
      );
      await assert.rejects(client.close(), /Contract/);
      const { socket } = await RawSocket.connect(server.port);
      await socket.sendText(
        JSON.stringify({ type: "request", topic: "personas", requestId: "r" }),
      );
      await assert.rejects(socket.readJson(), /Contract.*teapot/);
      socket.close();
    } finally {
      await server.shutdown();
    }
  },
});

Deno.test("GET and HEAD /asyncapi.json serve the committed document, without a token", async () => {
  const tokenFile = await Deno.makeTempFile();
  await Deno.writeTextFile(tokenFile, "secret,admin\n");
  const server = await startTestServer({
    source: await copyExamples(),
    auth: "token",
    tokenFile,
  });
  await using _ = server;
  const url = `${server.httpUrl}/asyncapi.json`;
  const got = await fetch(url);
  assert.equal(got.status, 200);
  assert.equal(got.headers.get("content-type"), "application/json");
  assert.equal(await got.text(), await Deno.readTextFile(DOCUMENT));
  const head = await fetch(url, { method: "HEAD" });
  assert.equal(head.status, 200);
  assert.equal(head.headers.get("content-type"), "application/json");
  assert.equal(await head.text(), "");
  const post = await fetch(url, { method: "POST" });
  assert.equal(post.status, 405);
  await post.body?.cancel();
  // The socket still asks for the token the document does not need.
  assert.equal(await RawSocket.upgradeStatus(server.port), 401);
});
