/**
 * The TLS warm-up: which commands start it, and that it starts once and
 * never fails a command.
 */
import assert from "node:assert/strict";
import { namesCluster, warmTls } from "../src/warm_tls.ts";

Deno.test("TLS warm-up: only commands that read a cluster start it", () => {
  for (
    const [command, args] of [
      ["get", ["personas", "--context", "prod"]],
      ["get", ["personas", "--context=prod"]],
      ["watch", ["ev", "--kubeconfig", "/k"]],
      ["watch", ["ev", "--kubeconfig=/k", "-n", "a"]],
      ["dashboard", []],
    ] as const
  ) assert.equal(namesCluster(command, [...args]), true, `${command} ${args}`);
  for (
    const [command, args] of [
      ["get", ["personas"]],
      ["get", ["personas", "--url", "ws://x/ws"]],
      ["get", ["personas", "--contexts"]],
      ["version", ["--context", "prod"]],
      ["serve", ["--kubeconfig", "/k"]],
      [undefined, []],
    ] as const
  ) {
    assert.equal(
      namesCluster(command as string, [...args]),
      false,
      `${command} ${args}`,
    );
  }
});

Deno.test("TLS warm-up: starts once and never throws", async () => {
  warmTls();
  warmTls();
  // The seeding it starts leaves TLS working: a key can still be made.
  const key = await crypto.subtle.generateKey(
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["sign"],
  );
  assert.equal(key.type, "secret");
});
