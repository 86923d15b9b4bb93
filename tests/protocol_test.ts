import assert from "node:assert/strict";
import * as v from "valibot";
import {
  ERROR_CODES,
  parseClientMessage,
  ServerMessageSchema,
  timestamp,
} from "../src/protocol/mod.ts";

function failure(text: string) {
  const result = parseClientMessage(text);
  assert.equal(result.ok, false, `expected ${text} to be refused`);
  return result as Extract<typeof result, { ok: false }>;
}

Deno.test("the seed's subscribe and request messages parse", () => {
  const subscribe = parseClientMessage(JSON.stringify({
    type: "subscribe",
    topic: "personas",
    requestId: "sub-1",
    timestamp: "2026-03-23T10:00:00Z",
  }));
  assert.deepEqual(subscribe, {
    ok: true,
    message: {
      type: "subscribe",
      topic: "personas",
      requestId: "sub-1",
      filter: { namespace: undefined, name: undefined },
      since: undefined,
    },
  });
  const request = parseClientMessage(JSON.stringify({
    type: "request",
    topic: "personas",
    requestId: "req-1",
    payload: { namespace: "production" },
    timestamp: "2026-03-23T10:00:00Z",
  }));
  assert.deepEqual(request, {
    ok: true,
    message: {
      type: "request",
      topic: "personas",
      requestId: "req-1",
      query: { topic: "personas", namespace: "production" },
    },
  });
});

Deno.test("subscribe carries filters and a resume position", () => {
  const result = parseClientMessage(JSON.stringify({
    type: "subscribe",
    topic: "events",
    payload: { namespace: "prod", name: "x", since: { epoch: "e", offset: 7 } },
  }));
  assert.ok(result.ok);
  assert.deepEqual(result.message, {
    type: "subscribe",
    topic: "events",
    requestId: undefined,
    filter: { namespace: "prod", name: "x" },
    since: { epoch: "e", offset: 7 },
  });
});

Deno.test("invalid JSON is invalid_json", () => {
  const result = failure("{nope");
  assert.equal(result.error.code, "invalid_json");
  assert.match(result.error.message, /not valid JSON/);
});

Deno.test("non-objects and wrong field types are invalid_message, echoing what can be read", () => {
  for (const text of ["[]", "3", '"s"', "null"]) {
    assert.equal(failure(text).error.code, "invalid_message", text);
  }
  const wrongType = failure(
    JSON.stringify({ type: 5, topic: "personas", requestId: "r1" }),
  );
  assert.equal(wrongType.error.code, "invalid_message");
  assert.equal(wrongType.requestId, "r1");
  assert.equal(wrongType.topic, "personas");
  assert.match(wrongType.error.message, /^type: type must be a string\./);
});

Deno.test("an unknown type is unknown_message_type, server-only types included", () => {
  for (const type of ["publish", "event", "response", "error", ""]) {
    const result = failure(
      JSON.stringify({ type, topic: "personas", requestId: "r" }),
    );
    assert.equal(result.error.code, "unknown_message_type", type);
    assert.equal(result.requestId, "r");
  }
});

Deno.test("a missing topic is invalid_message and an unknown one unknown_topic", () => {
  const missing = failure(
    JSON.stringify({ type: "subscribe", requestId: "a" }),
  );
  assert.equal(missing.error.code, "invalid_message");
  assert.match(missing.error.message, /topic is required/);
  const unknown = failure(
    JSON.stringify({ type: "request", topic: "pods", requestId: "b" }),
  );
  assert.equal(unknown.error.code, "unknown_topic");
  assert.equal(unknown.topic, "pods");
  assert.equal(unknown.requestId, "b");
});

Deno.test("payload fields are checked and the message names the field", () => {
  const cases: [unknown, RegExp][] = [
    [
      { namespace: "Production" },
      /^payload\.namespace: A namespace is lower-case/,
    ],
    [{ namespace: 3 }, /^payload\.namespace:/],
    [
      { since: { epoch: "e", offset: -1 } },
      /^payload\.since\.offset: An offset is zero or more\./,
    ],
    [
      { since: { epoch: "e", offset: 1.5 } },
      /^payload\.since\.offset: An offset is a whole number\./,
    ],
    [{ since: { offset: 1 } }, /^payload\.since\.epoch:/],
    [{ name: "" }, /^payload\.name: A name must not be empty\./],
    ["x", /Expected Object/],
  ];
  for (const [payload, pattern] of cases) {
    const result = failure(
      JSON.stringify({ type: "subscribe", topic: "personas", payload }),
    );
    assert.equal(result.error.code, "invalid_message");
    assert.match(result.error.message, pattern);
  }
  const limit = failure(
    JSON.stringify({ type: "request", topic: "events", payload: { limit: 0 } }),
  );
  assert.match(limit.error.message, /payload\.limit: limit is at least 1\./);
  const cluster = failure(JSON.stringify({
    type: "subscribe",
    topic: "cluster",
    payload: { namespace: "prod" },
  }));
  assert.match(cluster.error.message, /cluster-scoped/);
});

Deno.test("unknown payload fields are ignored, for forward compatibility", () => {
  const result = parseClientMessage(JSON.stringify({
    type: "request",
    topic: "cluster",
    payload: { name: "a", extra: true },
  }));
  assert.ok(result.ok);
  assert.deepEqual(result.message, {
    type: "request",
    topic: "cluster",
    requestId: undefined,
    query: { topic: "cluster", name: "a" },
  });
});

Deno.test("a huge requestId is not echoed back", () => {
  const result = failure(
    JSON.stringify({
      type: "x",
      topic: "personas",
      requestId: "r".repeat(300),
    }),
  );
  assert.equal(result.requestId, undefined);
});

Deno.test("server timestamps are RFC 3339 UTC that Go's time.Time accepts", () => {
  const stamp = timestamp(new Date(Date.UTC(2026, 2, 23, 10, 0, 0, 5)));
  assert.equal(stamp, "2026-03-23T10:00:00.005Z");
  assert.match(stamp, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/);
});

Deno.test("server messages validate against the published schemas", () => {
  const ok = v.safeParse(ServerMessageSchema, {
    type: "error",
    payload: { code: "not_found", message: "m" },
    timestamp: timestamp(),
  });
  assert.ok(ok.success);
  const bad = v.safeParse(ServerMessageSchema, {
    type: "error",
    payload: { code: "teapot", message: "m" },
    timestamp: "",
  });
  assert.equal(bad.success, false);
  assert.equal(ERROR_CODES.length, 9);
});
