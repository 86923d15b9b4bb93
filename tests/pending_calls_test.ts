import assert from "node:assert/strict";
import { PendingCalls, type ResponseMessage } from "../src/protocol/mod.ts";

const response = (requestId: string): ResponseMessage => ({
  type: "response",
  topic: "personas",
  requestId,
  payload: {},
  timestamp: "2026-01-01T00:00:00Z",
  epoch: "e",
  offset: 0,
});

Deno.test("pending calls: a reply settles its own call, once", async () => {
  const calls = new PendingCalls<string>({ prefix: "t-", timeoutMs: 1000 });
  const first = calls.start("a", () => new Error("timeout"));
  const second = calls.start("b", () => new Error("timeout"));
  assert.deepEqual([first.requestId, second.requestId], ["t-1", "t-2"]);
  const taken = calls.take("t-2");
  assert.equal(taken?.extra, "b");
  taken?.resolve(response("t-2"));
  assert.equal((await second.reply).requestId, "t-2");
  assert.equal(calls.take("t-2"), undefined, "settled calls are gone");
  assert.equal(calls.take(undefined), undefined);
  calls.take("t-1")?.reject(new Error("refused"));
  await assert.rejects(first.reply, /refused/);
});

Deno.test("pending calls: no reply in time rejects with the caller's error", async () => {
  const calls = new PendingCalls({ prefix: "t-", timeoutMs: 20 });
  const { requestId, reply } = calls.start(undefined, () => new Error("late"));
  await assert.rejects(reply, /late/);
  assert.equal(calls.take(requestId), undefined);
});

Deno.test("pending calls: a closed connection rejects every waiting call", async () => {
  const calls = new PendingCalls({ prefix: "t-", timeoutMs: 1000 });
  const replies = [1, 2, 3].map(() =>
    calls.start(undefined, () => new Error("late")).reply
  );
  calls.rejectAll(new Error("closed"));
  for (const reply of replies) await assert.rejects(reply, /closed/);
  assert.equal(calls.take("t-1"), undefined);
});
