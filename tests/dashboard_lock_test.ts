/**
 * The laptop dashboard's lock over real HTTP (raw requests, so every
 * header is the test's): what answers without the secret, the exchange
 * and its cookie, the requests of other pages (foreign origins, other
 * ports of 127.0.0.1, fetch metadata, DNS rebinding, a cross-site form
 * post to the exchange), and that the secret reaches no log line. The
 * server is `serve`'s own wiring on the example cluster, in process.
 */
import assert from "node:assert/strict";
import { DashboardLock } from "../src/server/dashboard_lock.ts";
import { exchange, statusOf } from "./support/hostile.ts";
import {
  captureLog,
  copyExamples,
  startTestServer,
  type TestServer,
} from "./support/server.ts";
import { TestClient } from "./support/ws_client.ts";

const unsanitized = { sanitizeOps: false, sanitizeResources: false };
const TARGET = {
  context: "lab",
  server: "https://10.0.0.1:6443",
  namespaces: [],
};

interface Locked {
  server: TestServer;
  secret: string;
  lines: Record<string, unknown>[];
  exchanges: number[];
}

async function lockedServer(): Promise<Locked> {
  const log = captureLog();
  const exchanges: number[] = [];
  const lock = new DashboardLock(TARGET, {
    onExchange: () => exchanges.push(Date.now()),
  });
  const server = await startTestServer({ source: await copyExamples() }, {
    log: log.logger,
    lock,
  });
  lock.listening(server.port);
  const url = new URL(lock.url(`${server.httpUrl}/`));
  const secret = new URLSearchParams(url.hash.slice(1)).get("secret") ?? "";
  return { server, secret, lines: log.lines, exchanges };
}

/** One request with exactly these headers; its status, headers and body. */
async function request(
  port: number,
  path: string,
  options: { method?: string; headers?: Record<string, string> } = {},
) {
  const headers = { host: `127.0.0.1:${port}`, ...options.headers };
  const head = [
    `${options.method ?? "GET"} ${path} HTTP/1.1`,
    ...Object.entries(headers).map(([name, value]) => `${name}: ${value}`),
    "Connection: close",
    "",
    "",
  ].join("\r\n");
  const { response } = await exchange(port, head);
  const [top, body = ""] = response.split("\r\n\r\n");
  return { status: statusOf(response), head: top, body };
}

const UPGRADE = {
  upgrade: "websocket",
  connection: "Upgrade",
  "sec-websocket-key": "dGhlIHNhbXBsZSBub25jZQ==",
  "sec-websocket-version": "13",
};

Deno.test({
  name:
    "lock: without the secret only /health and the page's files answer; /ws, /metrics, /ready, /version refuse with 401",
  ...unsanitized,
  async fn() {
    const { server, secret } = await lockedServer();
    await using _ = server;
    const port = server.port;
    const open = [
      "/health",
      "/",
      "/ui/app.js",
      "/ui/style.css",
      "/asyncapi.json",
    ];
    for (const path of open) {
      assert.equal((await request(port, path)).status, 200, path);
    }
    for (const path of ["/metrics", "/ready", "/version", "/nothing"]) {
      const refused = await request(port, path);
      assert.equal(refused.status, 401, path);
      assert.match(refused.head, /www-authenticate: Bearer/i);
      assert.match(refused.body, /open the URL 'dorgu-ws dashboard' printed/);
    }
    assert.equal(
      (await request(port, "/ws", { headers: UPGRADE })).status,
      401,
    );
    // The page's questions answer 200 (a clean console), and say "no".
    const auth = await request(port, "/ui/auth");
    assert.equal(auth.status, 200);
    assert.equal(JSON.parse(auth.body).ok, false);
    const session = await request(port, "/ui/session");
    assert.deepEqual(JSON.parse(session.body), {
      private: true,
      ok: false,
      message:
        "This dashboard is private to whoever started it: open the URL 'dorgu-ws dashboard' printed, which carries its secret.",
    });
    // A wrong secret, one of the right length, and an empty one.
    for (const wrong of ["nope", "A".repeat(secret.length), ""]) {
      const bearer = { authorization: `Bearer ${wrong}` };
      assert.equal(
        (await request(port, "/metrics", { headers: bearer })).status,
        401,
      );
    }
    // The secret as a bearer token (the CLI, scripts) opens everything.
    const bearer = { authorization: `Bearer ${secret}` };
    for (const path of ["/metrics", "/ready", "/version", "/ui/auth"]) {
      assert.equal(
        (await request(port, path, { headers: bearer })).status,
        200,
      );
    }
    const client = await TestClient.connect(`${server.wsUrl}`, {
      headers: bearer,
    });
    const cluster = await client.call("request", "cluster");
    assert.equal(cluster.payload?.name, "eu-west-prod");
    await client.close();
    const metrics = await request(port, "/metrics", { headers: bearer });
    assert.match(
      metrics.body,
      /^dorgu_ws_http_refused_total\{reason="unauthorized"\} 8$/m,
    );
  },
});

Deno.test({
  name:
    "lock: the exchange sets an HttpOnly, SameSite=Strict cookie named after the port, which opens /ws and /metrics",
  ...unsanitized,
  async fn() {
    const { server, secret, exchanges } = await lockedServer();
    await using _ = server;
    const port = server.port;
    const origin = `http://127.0.0.1:${port}`;
    const stale = await request(port, "/ui/session", {
      method: "POST",
      headers: { origin, authorization: "Bearer stale" },
    });
    assert.equal(stale.status, 200);
    assert.equal(JSON.parse(stale.body).ok, false);
    assert.match(
      JSON.parse(stale.body).message,
      /open the URL it printed last/,
    );
    assert.doesNotMatch(stale.head, /set-cookie/i);
    assert.equal(exchanges.length, 0);

    const traded = await request(port, "/ui/session", {
      method: "POST",
      headers: { origin, authorization: `Bearer ${secret}` },
    });
    assert.deepEqual(JSON.parse(traded.body), {
      private: true,
      ok: true,
      ...TARGET,
    });
    assert.equal(exchanges.length, 1);
    const setCookie = /^set-cookie: (.*)$/im.exec(traded.head)?.[1] ?? "";
    const match = new RegExp(
      `^dorgu-ws-dashboard-${port}=([A-Za-z0-9_-]{43}); Path=/; HttpOnly; SameSite=Strict\r?$`,
    ).exec(setCookie);
    assert.ok(match, setCookie);
    const value = match[1];
    assert.notEqual(value, secret, "the cookie is not the secret");
    assert.match(traded.head, /cache-control: no-store/i);

    const cookie = { cookie: `other=1; dorgu-ws-dashboard-${port}=${value}` };
    for (const path of ["/metrics", "/ready", "/version", "/ui/session"]) {
      assert.equal(
        (await request(port, path, { headers: cookie })).status,
        200,
      );
    }
    const client = await TestClient.connect(server.wsUrl, {
      headers: { ...cookie, origin },
    });
    assert.equal((await client.call("request", "personas")).type, "response");
    await client.close();
    // Another port's cookie name, a changed value, a cookie tossed in by
    // another page beside the real one.
    for (
      const wrong of [
        `dorgu-ws-dashboard-${port + 1}=${value}`,
        `dorgu-ws-dashboard-${port}=${value.slice(0, -1)}x`,
        `dorgu-ws-dashboard-${port}=${secret}`,
      ]
    ) {
      assert.equal(
        (await request(port, "/metrics", { headers: { cookie: wrong } }))
          .status,
        401,
        wrong,
      );
    }
    const tossed =
      `dorgu-ws-dashboard-${port}=junk; dorgu-ws-dashboard-${port}=${value}`;
    assert.equal(
      (await request(port, "/metrics", { headers: { cookie: tossed } })).status,
      200,
    );
  },
});

Deno.test({
  name:
    "lock: other pages get 403 even with the cookie (foreign or null Origin, another port of 127.0.0.1, Sec-Fetch-Site), the exchange too; a rebound Host gets 421",
  ...unsanitized,
  async fn() {
    const { server, secret, exchanges } = await lockedServer();
    await using _ = server;
    const port = server.port;
    const bearer = { authorization: `Bearer ${secret}` };
    const foreign: Record<string, string>[] = [
      { origin: "https://evil.example" },
      { origin: `http://127.0.0.1:${port + 1}` },
      { origin: `http://localhost:${port}` },
      { origin: "null" },
      { "sec-fetch-site": "same-site" },
      { "sec-fetch-site": "cross-site" },
    ];
    for (const headers of foreign) {
      for (const path of ["/metrics", "/ready", "/ui/auth"]) {
        const answer = await request(port, path, {
          headers: { ...bearer, ...headers },
        });
        assert.equal(answer.status, 403, `${path} ${JSON.stringify(headers)}`);
      }
      const upgrade = await request(port, "/ws", {
        headers: { ...UPGRADE, ...bearer, ...headers },
      });
      assert.equal(upgrade.status, 403, JSON.stringify(headers));
      // A form another site posts to the exchange (CSRF), even carrying
      // the right secret, sets nothing.
      const posted = await request(port, "/ui/session", {
        method: "POST",
        headers: { ...bearer, ...headers },
      });
      assert.equal(posted.status, 403);
      assert.doesNotMatch(posted.head, /set-cookie/i);
    }
    assert.equal(exchanges.length, 0);
    // What the user typed in the address bar, and the page's own requests.
    for (const site of ["none", "same-origin"]) {
      const answer = await request(port, "/metrics", {
        headers: { ...bearer, "sec-fetch-site": site },
      });
      assert.equal(answer.status, 200, site);
    }
    const rebound = await request(port, "/metrics", {
      headers: { ...bearer, host: `attacker.example:${port}` },
    });
    assert.equal(rebound.status, 421);
  },
});

Deno.test({
  name: "lock: neither the secret nor the cookie reaches a log line",
  ...unsanitized,
  async fn() {
    const { server, secret, lines } = await lockedServer();
    await using _ = server;
    const port = server.port;
    const origin = `http://127.0.0.1:${port}`;
    const traded = await request(port, "/ui/session", {
      method: "POST",
      headers: { origin, authorization: `Bearer ${secret}` },
    });
    const value = /dorgu-ws-dashboard-\d+=([^;]+)/.exec(traded.head)?.[1];
    assert.ok(value);
    await request(port, "/metrics", {
      headers: { origin: "https://evil.example", cookie: `x=${value}` },
    });
    await request(port, `/nothing?secret=${secret}`);
    const client = await TestClient.connect(server.wsUrl, {
      headers: { authorization: `Bearer ${secret}` },
    });
    await client.close();
    await request(port, "/ws", {
      headers: { ...UPGRADE, cookie: `a=${value}` },
    });
    const logged = JSON.stringify(lines);
    assert.ok(lines.some((l) => l.msg === "Refused a request"));
    assert.ok(lines.some((l) => l.msg === "Opened a client"));
    assert.ok(!logged.includes(secret), "the secret is logged");
    assert.ok(!logged.includes(value), "the cookie is logged");
  },
});

Deno.test({
  name: "without a lock (serve) /ui/session says so and nothing is locked",
  ...unsanitized,
  async fn() {
    await using server = await startTestServer({
      source: await copyExamples(),
    });
    const session = await request(server.port, "/ui/session");
    assert.equal(session.status, 200);
    assert.deepEqual(JSON.parse(session.body), { private: false });
    assert.equal((await request(server.port, "/metrics")).status, 200);
  },
});
