/**
 * Parsing client messages: every malformed shape gets the protocol's
 * error code, and what the server sends validates against the published
 * schemas.
 */
import assert from "node:assert/strict";
import * as v from "valibot";
import {
  ERROR_CODES,
  parseClientMessage,
  ServerMessageSchema,
  timestamp,
} from "../src/protocol/mod.ts";
import { copyExamples, editFile, spawnServer } from "./support/server.ts";
import { type Message, TestClient } from "./support/ws_client.ts";

const unsanitized = { sanitizeOps: false, sanitizeResources: false };

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

// How the dorgu CLI (Go) reads a message's timestamp: encoding/json into a
// time.Time, which accepts RFC 3339 and nothing else. Prints the instant
// in Unix milliseconds and its zone, or the error, per input line.
const GO_TIMESTAMPS = `package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"time"
)

func main() {
	lines := bufio.NewScanner(os.Stdin)
	lines.Buffer(make([]byte, 1<<20), 1<<24)
	for lines.Scan() {
		var message struct {
			Timestamp time.Time \`json:"timestamp"\`
		}
		if err := json.Unmarshal(lines.Bytes(), &message); err != nil {
			fmt.Println("error:", err)
			continue
		}
		fmt.Println(message.Timestamp.UnixMilli(), message.Timestamp.Location())
	}
}
`;

/** Each line of `messages` as Go's time.Time reads its timestamp. */
async function readByGo(messages: Message[]): Promise<string[]> {
  const dir = await Deno.makeTempDir({ prefix: "dorgu-ws-go-" });
  try {
    await Deno.writeTextFile(`${dir}/main.go`, GO_TIMESTAMPS);
    const child = new Deno.Command("go", {
      args: ["run", `${dir}/main.go`],
      cwd: dir,
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const writer = child.stdin.getWriter();
    await writer.write(
      new TextEncoder().encode(
        messages.map((m) => JSON.stringify(m)).join("\n") + "\n",
      ),
    );
    await writer.close();
    const output = await child.output();
    assert.ok(output.success, new TextDecoder().decode(output.stderr));
    return new TextDecoder().decode(output.stdout).trim().split("\n");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test({
  name:
    "the server's responses, events and errors carry RFC 3339 UTC timestamps of when they were sent, as Go's time.Time reads them",
  ...unsanitized,
  async fn() {
    const dir = await copyExamples();
    const server = await spawnServer(["--source", dir]);
    const before = Date.now();
    const client = await TestClient.connect(`ws://127.0.0.1:${server.port}/ws`);
    try {
      await client.call("subscribe", "personas");
      await editFile(`${dir}/production/personas.yaml`, {
        from: "phase: Failed",
        to: "phase: Active",
      });
      await client.waitFor((m) => m.type === "event", "an event");
      await client.call("request", "cluster");
      await client.call("request", "pods");
    } finally {
      await client.close();
      await server.stop();
    }
    const after = Date.now();
    const messages = client.received;
    assert.deepEqual(
      [...new Set(messages.map((m) => m.type))].sort(),
      ["error", "event", "response"],
    );
    const read = await readByGo(messages);
    assert.equal(read.length, messages.length);
    read.forEach((line, i) => {
      const stamp = messages[i].timestamp;
      const [millis, zone] = line.split(" ");
      assert.equal(zone, "UTC", `${stamp}: ${line}`);
      assert.match(stamp ?? "", /Z$/);
      assert.ok(
        Number(millis) >= before - 1 && Number(millis) <= after + 1,
        `${stamp} is not between the test's start and end`,
      );
    });
  },
});

Deno.test({
  name: "the server answers each error code for its cause",
  ...unsanitized,
  async fn() {
    const seen = new Map<string, string>();
    const expect = async (
      client: TestClient,
      cause: string,
      message: string | Record<string, unknown>,
      code: string,
    ) => {
      client.send(message);
      const id = typeof message === "string" ? undefined : message.requestId;
      const reply = await client.waitFor(
        (m) => m.type === "error" && m.requestId === id,
        `the error for ${cause}`,
      );
      assert.equal(reply.payload?.code, code, cause);
      seen.set(code, cause);
    };
    const dir = await copyExamples();
    const tokens = await Deno.makeTempFile();
    await Deno.writeTextFile(tokens, "dev-token,dev,staging\n");
    const server = await spawnServer([
      "--source",
      dir,
      "--auth",
      "token",
      "--token-file",
      tokens,
    ]);
    try {
      const connect = () =>
        TestClient.connect(`ws://127.0.0.1:${server.port}/ws`, {
          headers: { authorization: "Bearer dev-token" },
        });
      const client = await connect();
      await expect(client, "text that is not JSON", "{nope", "invalid_json");
      await expect(client, "a field of the wrong type", {
        type: 7,
        topic: "personas",
        requestId: "a",
      }, "invalid_message");
      await expect(client, "a type no client sends", {
        type: "event",
        topic: "personas",
        requestId: "b",
      }, "unknown_message_type");
      await expect(client, "a topic the server does not have", {
        type: "subscribe",
        topic: "pods",
        requestId: "c",
      }, "unknown_topic");
      await expect(client, "a name nothing has", {
        type: "request",
        topic: "cluster",
        requestId: "d",
        payload: { name: "mars" },
      }, "not_found");
      await expect(client, "a namespace outside the token's", {
        type: "request",
        topic: "personas",
        requestId: "e",
        payload: { namespace: "production" },
      }, "forbidden");
      await client.close();
      // Past the default burst of 50 at once.
      const flood = await connect();
      for (let i = 0; i < 60; i++) {
        flood.send({ type: "request", topic: "cluster", requestId: `f${i}` });
      }
      const limited = await flood.waitFor(
        (m) => m.payload?.code === "rate_limited",
        "rate_limited",
      );
      assert.match(limited.requestId ?? "", /^f\d+$/);
      seen.set("rate_limited", "more messages at once than the burst");
      await flood.close();
    } finally {
      await server.stop();
    }
    // A cluster that cannot be reached: nothing is listed, so nothing is
    // ready to answer.
    const kubeconfig = await Deno.makeTempFile();
    await Deno.writeTextFile(
      kubeconfig,
      JSON.stringify({
        apiVersion: "v1",
        kind: "Config",
        clusters: [{ name: "c", cluster: { server: "https://127.0.0.1:1" } }],
        users: [{ name: "u", user: { token: "t" } }],
        contexts: [{ name: "c", context: { cluster: "c", user: "u" } }],
        "current-context": "c",
      }),
    );
    const unreachable = await spawnServer(["--kubeconfig", kubeconfig]);
    try {
      const client = await TestClient.connect(
        `ws://127.0.0.1:${unreachable.port}/ws`,
      );
      await expect(client, "a topic not listed yet", {
        type: "request",
        topic: "personas",
        requestId: "g",
      }, "not_ready");
      await client.close();
    } finally {
      await unreachable.stop();
    }
    // `internal` is a server fault, which no message can cause on purpose;
    // hub_test.ts makes a query throw to see it answered.
    assert.deepEqual(
      [...seen.keys(), "internal"].sort(),
      [...ERROR_CODES].sort(),
      "every error code has a cause here",
    );
  },
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
});
