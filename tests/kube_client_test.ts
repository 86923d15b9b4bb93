/**
 * How much of an API server's answer the client reads: a refusal's body
 * is read only so far, whatever its length, so an error page without end
 * is still one short message and not memory held until the process dies.
 */
import assert from "node:assert/strict";
import { ApiError } from "../src/kube/client.ts";
import { serveFakeApi } from "./support/fake_apiserver.ts";
import { plainKubeClient } from "./support/kube_client.ts";

Deno.test("a refusal whose body never ends is read only so far: an ApiError with its first line, cut short", async () => {
  const mib = new TextEncoder().encode("x".repeat(1024 * 1024));
  let sent = 0;
  await using api = await serveFakeApi(() =>
    new Response(
      new ReadableStream({
        start: (c) => c.enqueue(new TextEncoder().encode("<html>")),
        pull: (c) => {
          sent += mib.length;
          c.enqueue(mib);
        },
      }),
      { status: 502 },
    )
  );
  const client = plainKubeClient(api.server);
  try {
    const answer = client.json("/api/v1/namespaces");
    // Unbounded, the read would go on for as long as the server sends.
    const late = new Promise<"late">((resolve) => {
      const timer = setTimeout(() => resolve("late"), 15_000);
      answer.catch(() => {}).finally(() => clearTimeout(timer));
    });
    const error = await Promise.race([answer.catch((e) => e), late]);
    assert.ok(error instanceof ApiError, String(error));
    assert.equal(error.status, 502);
    assert.equal(error.message, `<html>${"x".repeat(194)}...`);
    // 64 KiB read; what the sockets' buffers took on top is a few MiB.
    assert.ok(sent < 64 * 1024 * 1024, `the server sent ${sent} bytes`);
  } finally {
    client.close();
  }
});
