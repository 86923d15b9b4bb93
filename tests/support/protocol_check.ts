/**
 * Protocol checks shared by the in-process and the subprocess suites, so
 * the server run as the binary is held to the same contract.
 */
import assert from "node:assert/strict";
import * as v from "valibot";
import { ServerMessageSchema } from "../../src/protocol/mod.ts";
import { type Message, TestClient } from "./ws_client.ts";

/** Asserts every message is a valid server message. */
export function assertWellFormed(messages: Message[]): void {
  for (const message of messages) {
    const result = v.safeParse(ServerMessageSchema, message);
    assert.ok(
      result.success,
      `not a valid server message: ${JSON.stringify(message)}`,
    );
  }
}

/**
 * Every message type against the example cluster: subscribe, an event
 * (caused by `change`), request on each topic, unsubscribe.
 */
export async function checkMessageTypes(
  url: string,
  change: () => Promise<void>,
): Promise<void> {
  const client = await TestClient.connect(url);
  const subscribed = await client.call("subscribe", "personas");
  assert.equal(subscribed.type, "response");
  assert.equal(subscribed.payload?.status, "subscribed");
  await change();
  const [event] = await client.waitForCount(
    (m) => m.type === "event",
    1,
    "an event",
  );
  assert.equal(event.topic, "personas");
  assert.equal(event.offset, 1);
  for (const topic of ["personas", "cluster", "deployments", "events"]) {
    const reply = await client.call("request", topic);
    assert.equal(reply.type, "response", `request ${topic}`);
    assert.equal(typeof reply.epoch, "string");
    assert.equal(typeof reply.offset, "number");
  }
  const unsubscribed = await client.call("unsubscribe", "personas");
  assert.deepEqual(unsubscribed.payload, {
    status: "unsubscribed",
    topic: "personas",
  });
  assertWellFormed(client.received);
  await client.close();
}

/**
 * The error codes any server answers, each echoing requestId and topic:
 * invalid_json, invalid_message (bad field, binary frame),
 * unknown_message_type, unknown_topic, not_found.
 */
export async function checkErrorCodes(url: string): Promise<void> {
  const client = await TestClient.connect(url);
  const expect = async (
    message: string | Record<string, unknown>,
    code: string,
    id?: string,
  ) => {
    client.send(message);
    const reply = await client.waitFor(
      (m) =>
        m.type === "error" && m.requestId === id && m.payload?.code === code,
      `${code} for ${JSON.stringify(message).slice(0, 80)}`,
    );
    assert.ok((reply.payload?.message ?? "").length > 10);
    return reply;
  };
  await expect("{not json", "invalid_json");
  await expect(
    { type: 7, topic: "personas", requestId: "a" },
    "invalid_message",
    "a",
  );
  await expect(
    { type: "dance", topic: "personas", requestId: "b" },
    "unknown_message_type",
    "b",
  );
  const unknown = await expect(
    { type: "subscribe", topic: "pods", requestId: "c" },
    "unknown_topic",
    "c",
  );
  assert.equal(unknown.topic, "pods");
  const notFound = await expect(
    {
      type: "request",
      topic: "cluster",
      requestId: "d",
      payload: { name: "mars" },
    },
    "not_found",
    "d",
  );
  assert.equal(notFound.topic, "cluster");
  await expect(
    {
      type: "subscribe",
      topic: "personas",
      requestId: "e",
      payload: { namespace: "Prod" },
    },
    "invalid_message",
    "e",
  );
  client.socket.send(new Uint8Array([1, 2, 3]));
  const binary = await client.waitFor(
    (m) => m.type === "error" && /Binary frames/.test(m.payload?.message ?? ""),
    "the binary-frame error",
  );
  assert.equal(binary.payload?.code, "invalid_message");
  assertWellFormed(client.received);
  await client.close();
}
