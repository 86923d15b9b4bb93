/**
 * The host rule's wildcards, against the real server: `--allowed-hosts
 * '*.example.com'` lets every name under example.com in and nothing that
 * merely ends in the same letters (`evilexample.com`) nor the bare domain;
 * `*` lets any name in. A suffix test without the dot passes every other
 * test of the suite.
 */
import assert from "node:assert/strict";
import { exchange, statusOf } from "./support/hostile.ts";
import { RawSocket } from "./support/raw_ws.ts";
import { copyExamples, startTestServer } from "./support/server.ts";

async function hostStatus(port: number, host: string): Promise<number> {
  const { response } = await exchange(
    port,
    `GET /health HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`,
  );
  return statusOf(response);
}

Deno.test("--allowed-hosts '*.example.com': names under it are served, evilexample.com and example.com get 421", async () => {
  const server = await startTestServer({
    source: await copyExamples(),
    allowedHosts: ["*.example.com"],
  });
  await using _ = server;
  const port = server.port;
  for (
    const host of [
      "api.example.com",
      "a.b.example.com:9090",
      "API.Example.COM.",
    ]
  ) {
    assert.equal(await hostStatus(port, host), 200, host);
  }
  for (
    const host of [
      "evilexample.com",
      "example.com",
      "example.com:9090",
      "api.example.com.evil.net",
      "xexample.com",
    ]
  ) {
    assert.equal(await hostStatus(port, host), 421, host);
  }
  // The WebSocket upgrade follows the same rule.
  assert.equal(
    await RawSocket.upgradeStatus(port, { host: "evilexample.com" }),
    421,
  );
  assert.equal(
    await RawSocket.upgradeStatus(port, { host: "ops.example.com" }),
    101,
  );
});

Deno.test("--allowed-hosts '*': any name is served", async () => {
  const server = await startTestServer({
    source: await copyExamples(),
    allowedHosts: ["*"],
  });
  await using _ = server;
  for (const host of ["evilexample.com", "example.com", "anything.test:1"]) {
    assert.equal(await hostStatus(server.port, host), 200, host);
  }
});
