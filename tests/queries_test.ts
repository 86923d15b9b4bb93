/**
 * Queries answer without authorization; the server keeps each client to
 * its namespaces. Checked end to end: a real server on the example
 * cluster, clients with a full and a namespace-limited token.
 */
import assert from "node:assert/strict";
import { copyExamples, startTestServer } from "./support/server.ts";
import { TestClient } from "./support/ws_client.ts";

Deno.test("request answers are limited to the client's namespaces; cluster and events too", async () => {
  const dir = await copyExamples();
  const tokenFile = await Deno.makeTempFile();
  await Deno.writeTextFile(
    tokenFile,
    "admin-secret,admin\nstaging-secret,dev,staging\n",
  );
  const server = await startTestServer({
    source: dir,
    auth: "token",
    tokenFile,
  });
  await using _ = server;
  const connect = (token: string) =>
    TestClient.connect(server.wsUrl, {
      headers: { authorization: `Bearer ${token}` },
    });
  const admin = await connect("admin-secret");
  const dev = await connect("staging-secret");
  try {
    const namespaces = async (
      client: TestClient,
      topic: "personas" | "deployments" | "events",
    ) => {
      const reply = await client.call("request", topic);
      assert.equal(reply.type, "response", JSON.stringify(reply));
      const items = reply.payload?.[topic] as { namespace: string }[];
      return [...new Set(items.map((i) => i.namespace))].sort();
    };
    for (const topic of ["personas", "deployments", "events"] as const) {
      assert.deepEqual(
        await namespaces(admin, topic),
        ["production", "staging"],
        `${topic} for admin`,
      );
      assert.deepEqual(
        await namespaces(dev, topic),
        ["staging"],
        `${topic} for dev`,
      );
    }
    // Asking by name for an object outside the scope finds nothing.
    const hidden = await dev.call("request", "personas", {
      name: "invoice-worker",
    });
    assert.deepEqual(hidden.payload?.personas, []);
    // ClusterPersonas are cluster-scoped: every client sees them, and a
    // name that matches none is not_found.
    const cluster = await dev.call("request", "cluster");
    assert.equal(cluster.type, "response");
    assert.equal(typeof cluster.payload?.name, "string");
    const missing = await dev.call("request", "cluster", { name: "nope" });
    assert.equal(missing.type, "error");
    assert.equal(missing.payload?.code, "not_found");
    assert.match(
      String(missing.payload?.message),
      /No ClusterPersona is named "nope"/,
    );
  } finally {
    await admin.close();
    await dev.close();
  }
});
