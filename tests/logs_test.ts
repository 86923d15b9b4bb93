/**
 * The audit trail in the log: the start-up line, one line per connection
 * opened and closed, every refusal (401, 403 origin, 421 host, 503 limit)
 * with its reason and never the token, `forbidden` answers, each request
 * and subscription at debug, the client count at shutdown, and repeated
 * lines a peer can provoke rate limited.
 */
import assert from "node:assert/strict";
import { createLogger, throttleLog } from "../src/log.ts";
import { RawSocket } from "./support/raw_ws.ts";
import { captureLog, delay, startTestServer } from "./support/server.ts";
import { TestClient } from "./support/ws_client.ts";

const SECRET = "alice-very-secret-token";

async function tokenFile(): Promise<string> {
  const file = await Deno.makeTempFile();
  await Deno.writeTextFile(file, `${SECRET},alice,staging\n`);
  return file;
}

function only(
  lines: Record<string, unknown>[],
  msg: string,
): Record<string, unknown>[] {
  return lines.filter((l) => l.msg === msg);
}

Deno.test("connections: the start-up line, opened and closed, requests and subscriptions at debug, the count at shutdown", async () => {
  const log = captureLog();
  const server = await startTestServer({
    source: "demo",
    auth: "token",
    tokenFile: await tokenFile(),
    allowedHosts: ["dorgu-ws.example.com"],
  }, { log: log.logger });
  const [serving] = only(log.lines, "dorgu-ws is serving");
  assert.equal(serving.level, "info");
  assert.equal(serving.addr, `127.0.0.1:${server.port}`);
  assert.equal(serving.tls, false);
  assert.equal(serving.auth, "token");
  assert.equal(serving.source, "demo");
  assert.equal(serving.websocket, true);
  assert.equal(serving.maxConnections, 10000);
  assert.deepEqual(serving.allowedHosts, ["dorgu-ws.example.com"]);

  const origin = `http://127.0.0.1:${server.port}`;
  const client = await TestClient.connect(server.wsUrl, {
    headers: { authorization: `Bearer ${SECRET}`, origin },
  });
  const [opened] = only(log.lines, "Opened a client");
  assert.equal(opened.level, "info");
  assert.match(String(opened.remote), /^127\.0\.0\.1:\d+$/);
  assert.equal(opened.user, "alice");
  assert.equal(opened.origin, origin);
  assert.equal(opened.auth, "token");

  await client.call("subscribe", "personas", { namespace: "staging" });
  await client.call("request", "cluster");
  await client.call("unsubscribe", "personas");
  const [subscribed] = only(log.lines, "Subscribed");
  assert.equal(subscribed.level, "debug");
  assert.equal(subscribed.topic, "personas");
  assert.deepEqual(subscribed.filter, { namespace: "staging" });
  const [answered] = only(log.lines, "Answered a request");
  assert.equal(answered.level, "debug");
  assert.deepEqual(answered.query, { topic: "cluster" });
  assert.equal(typeof answered.durationSeconds, "number");
  assert.equal(only(log.lines, "Unsubscribed").length, 1);

  // A namespace outside the token's scope: an audit line at info.
  await client.call("request", "personas", { namespace: "production" });
  const [forbidden] = only(
    log.lines,
    "Refused a message: namespace not allowed",
  );
  assert.equal(forbidden.level, "info");
  assert.equal(forbidden.user, "alice");
  assert.equal(forbidden.namespace, "production");

  client.socket.close(1000);
  await client.closed;
  await delay(50);
  const [closed] = only(log.lines, "Closed a client");
  assert.equal(closed.level, "info");
  assert.equal(closed.cause, "client");
  assert.equal(closed.code, 1000);
  assert.equal(closed.user, "alice");
  assert.equal(closed.remote, opened.remote);
  assert.ok(
    typeof closed.durationSeconds === "number" && closed.durationSeconds >= 0,
  );
  // Three replies and one error reply; no events.
  assert.equal(closed.sent, 4);
  assert.equal(closed.dropped, 0);

  // Two clients still open at shutdown: counted, not logged one by one.
  const others = await Promise.all(
    [1, 2].map(() =>
      TestClient.connect(server.wsUrl, {
        headers: { authorization: `Bearer ${SECRET}` },
      })
    ),
  );
  await server.shutdown(500);
  await Promise.all(others.map((c) => c.closed));
  assert.deepEqual(
    only(log.lines, "dorgu-ws is stopping").map((l) => l.clients),
    [2],
  );
  assert.deepEqual(
    only(log.lines, "dorgu-ws stopped").map((l) => l.clients),
    [2],
  );
  assert.equal(only(log.lines, "Closed a client").length, 1);
  assert.ok(!JSON.stringify(log.lines).includes(SECRET));
});

Deno.test("refusals: 401, 403 origin, 421 host and 503 limit, each with its reason and never the token", async () => {
  const log = captureLog();
  await using server = await startTestServer({
    source: "demo",
    auth: "token",
    tokenFile: await tokenFile(),
    maxConnections: 1,
  }, { log: log.logger });
  const status = (headers: Record<string, string>) =>
    RawSocket.upgradeStatus(server.port, headers);
  const wrong = "Bearer not-the-token-4711";
  assert.equal(await status({}), 401);
  assert.equal(await status({ authorization: wrong }), 401);
  assert.equal(
    await status({
      authorization: `Bearer ${SECRET}`,
      origin: "https://evil.example",
    }),
    403,
  );
  assert.equal(
    await status({
      authorization: `Bearer ${SECRET}`,
      host: `evil.example:${server.port}`,
    }),
    421,
  );
  const holder = await TestClient.connect(server.wsUrl, {
    headers: { authorization: `Bearer ${SECRET}` },
  });
  assert.equal(await status({ authorization: `Bearer ${SECRET}` }), 503);
  await holder.close();

  const refused = only(log.lines, "Refused a connection");
  assert.deepEqual(
    refused.map((l) => [l.reason, l.status]),
    [
      ["unauthorized", 401],
      ["unauthorized", 401],
      ["origin", 403],
      ["limit", 503],
    ],
  );
  for (const line of refused) {
    assert.equal(line.level, "info");
    assert.match(String(line.remote), /^127\.0\.0\.1:\d+$/);
    assert.equal(typeof line.message, "string");
  }
  assert.equal(refused[0].message, "A bearer token is required: pass --token.");
  assert.equal(refused[1].message, "The token is not valid.");
  assert.equal(refused[2].origin, "https://evil.example");
  const [host] = only(log.lines, "Refused a request");
  assert.equal(host.reason, "host");
  assert.equal(host.status, 421);
  assert.match(String(host.message), /evil\.example.*--allowed-hosts/);
  const everything = JSON.stringify(log.lines);
  assert.ok(!everything.includes("not-the-token-4711"), "no refused token");
  assert.ok(!everything.includes(SECRET), "no valid token");
});

Deno.test("a flood of refusals logs a few lines and then how many were suppressed", async () => {
  const log = captureLog();
  const server = await startTestServer({
    source: "demo",
    auth: "token",
    tokenFile: await tokenFile(),
  }, { log: log.logger });
  for (let i = 0; i < 40; i++) {
    assert.equal(
      await RawSocket.upgradeStatus(server.port, {
        authorization: `Bearer guess-${i}`,
      }),
      401,
    );
  }
  // Another reason is limited on its own.
  assert.equal(
    await RawSocket.upgradeStatus(server.port, {
      authorization: `Bearer ${SECRET}`,
      origin: "https://evil.example",
    }),
    403,
  );
  const unauthorized = only(log.lines, "Refused a connection").filter((l) =>
    l.reason === "unauthorized"
  );
  assert.equal(unauthorized.length, 5);
  assert.equal(
    only(log.lines, "Refused a connection").filter((l) => l.reason === "origin")
      .length,
    1,
  );
  // The summary comes at the end of the window, or at shutdown.
  await server.shutdown(200);
  const [summary] = only(log.lines, "Suppressed repeated log lines");
  assert.equal(summary.repeated, "Refused a connection");
  assert.equal(summary.key, "unauthorized");
  assert.equal(summary.suppressed, 35);
});

Deno.test("connections that never send a request are closed and logged at debug", async () => {
  const log = captureLog();
  await using server = await startTestServer({
    source: "demo",
    maxPendingConnections: 1,
    headerTimeoutMs: 300,
  }, { log: log.logger });
  const idle = await Deno.connect({ hostname: "127.0.0.1", port: server.port });
  await delay(50);
  // A second silent connection evicts the first; it then times out.
  const second = await Deno.connect({
    hostname: "127.0.0.1",
    port: server.port,
  });
  await delay(1500);
  idle.close();
  second.close();
  const shed = only(log.lines, "Closed a connection before it upgraded");
  assert.deepEqual(shed.map((l) => l.reason), ["evicted", "header_timeout"]);
  for (const line of shed) {
    assert.equal(line.level, "debug");
    assert.match(String(line.remote), /^127\.0\.0\.1:\d+$/);
  }
  assert.match(String(shed[1].why), /--header-timeout/);
});

Deno.test("throttleLog: a burst per key and window, then one line with the count", async () => {
  const lines: Record<string, unknown>[] = [];
  const log = createLogger({
    level: "debug",
    write: (line) => lines.push(JSON.parse(line)),
  });
  const limited = throttleLog(log, { burst: 2, windowMs: 100, maxKeys: 2 });
  for (let i = 0; i < 5; i++) limited.warn("Accept failed", { i });
  limited.info("Refused", {}, { key: "a" });
  limited.info("Refused", {}, { key: "b" });
  assert.deepEqual(lines.map((l) => [l.msg, l.i]), [
    ["Accept failed", 0],
    ["Accept failed", 1],
    ["Refused", undefined],
    // A third key forgets the oldest (after reporting what it suppressed).
    ["Suppressed repeated log lines", undefined],
    ["Refused", undefined],
  ]);
  assert.equal(lines[3].suppressed, 3);
  assert.equal(lines[3].level, "warn");
  await delay(150);
  // A new window logs again.
  limited.info("Refused", {}, { key: "b" });
  limited.info("Refused", {}, { key: "b" });
  limited.info("Refused", {}, { key: "b" });
  await delay(150);
  assert.deepEqual(lines.slice(5).map((l) => [l.msg, l.key, l.suppressed]), [
    ["Refused", undefined, undefined],
    ["Refused", undefined, undefined],
    ["Suppressed repeated log lines", "b", 1],
  ]);
  limited.close();
});
