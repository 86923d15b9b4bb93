import assert from "node:assert/strict";
import { UsageError } from "../src/flags.ts";
import { parseListenAddress, parseServeArgs } from "../src/server/config.ts";

Deno.test("listen addresses in the seed's form and the usual others", () => {
  assert.deepEqual(parseListenAddress(":9090"), { hostname: "", port: 9090 });
  assert.deepEqual(parseListenAddress("9090"), { hostname: "", port: 9090 });
  assert.deepEqual(parseListenAddress("127.0.0.1:80"), {
    hostname: "127.0.0.1",
    port: 80,
  });
  assert.deepEqual(parseListenAddress("localhost:0"), {
    hostname: "localhost",
    port: 0,
  });
  assert.deepEqual(parseListenAddress("[::1]:9090"), {
    hostname: "::1",
    port: 9090,
  });
  for (
    const bad of [
      "",
      ":",
      "::1:9090",
      "[::1]",
      "[]:9090",
      "host:port",
      ":65536",
      ":123456",
    ]
  ) {
    assert.throws(() => parseListenAddress(bad), UsageError, bad);
  }
});

Deno.test("flags win over DORGU_WS_* variables, which win over defaults", () => {
  const env = (vars: Record<string, string>) => (name: string) => vars[name];
  const config = parseServeArgs(["--history-size", "10"], {
    env: env({
      DORGU_WS_HISTORY_SIZE: "20",
      DORGU_WS_WRITE_TIMEOUT: "2s",
      DORGU_WS_NAMESPACE: "prod, staging",
      DORGU_WS_ENABLE_WEBSOCKET: "false",
    }),
  });
  assert.ok(config !== "help");
  assert.equal(config.historySize, 10);
  assert.equal(config.writeTimeoutMs, 2000);
  assert.deepEqual(config.namespaces, ["prod", "staging"]);
  assert.equal(config.enableWebsocket, false);
  assert.equal(config.readTimeoutMs, 60_000);
  assert.equal(config.maxMessageBytes, 512 * 1024);
  assert.throws(
    () =>
      parseServeArgs([], {
        env: env({ DORGU_WS_ENABLE_WEBSOCKET: "perhaps" }),
      }),
    /DORGU_WS_ENABLE_WEBSOCKET must be true or false, got 'perhaps'/,
  );
});
