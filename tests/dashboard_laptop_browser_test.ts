/**
 * `dorgu-ws dashboard` in real Chromium, against a real kube-apiserver:
 * the printed URL renders the cluster and leaves no secret in the address
 * bar; a browser without the secret gets a locked page and 401s; pages of
 * other origins (another port of 127.0.0.1, which shares the cookie, and
 * a DNS-rebinding host name) get 403 and 421 from fetches, images,
 * WebSockets and a form posted to the exchange; an API server that is
 * down shows on the page, which catches up when it is back.
 */
import assert from "node:assert/strict";
import { Browser, type Page } from "./support/browser.ts";
import {
  clusterPersona,
  deployment,
  persona,
} from "./support/cluster_objects.ts";
import {
  type DashboardProcess,
  spawnDashboard,
  teamCluster,
} from "./support/dashboard_cli.ts";
import type { Envtest } from "./support/envtest.ts";
import { TcpProxy } from "./support/proc.ts";
import { eventually } from "./support/server.ts";

const unsanitized = { sanitizeOps: false, sanitizeResources: false };
const REBOUND = "rebound.test";

let env: Envtest;
let browser: Browser;
let dashboard: DashboardProcess;

/** The responses a tab got, as the network saw them. */
interface Responses {
  /** The status of the next response to `url` not yet taken. */
  statusOf(url: string): Promise<number>;
  /** Whether the tab asked for `url` at all. */
  asked(url: string): boolean;
}

/**
 * Records the status of every response the tab gets, as the network saw
 * it (a response the page may not read, for CORS, still has one).
 * Chromium sends the network stack's `responseReceivedExtraInfo` for some
 * responses only, and in no fixed order with the request's other events,
 * so each request's URL and status are gathered from whichever comes.
 */
async function responses(page: Page): Promise<Responses> {
  const cdp = await page.driver.createCDPSession();
  await cdp.send("Network.enable");
  const byId = new Map<string, { url?: string; status?: number }>();
  const taken = new Set<string>();
  const note = (id: string, seen: { url?: string; status?: number }) => {
    if (!taken.has(id)) byId.set(id, { ...byId.get(id), ...seen });
  };
  cdp.on(
    "Network.requestWillBeSent",
    (e) => note(e.requestId, { url: e.request.url }),
  );
  cdp.on(
    "Network.responseReceivedExtraInfo",
    (e) => note(e.requestId, { status: e.statusCode }),
  );
  cdp.on(
    "Network.responseReceived",
    (e) =>
      note(e.requestId, { url: e.response.url, status: e.response.status }),
  );
  return {
    async statusOf(url) {
      let found: [string, number] | undefined;
      await eventually(() => {
        for (const [id, { url: to, status }] of byId) {
          if (to === url && status !== undefined) found = [id, status];
        }
        assert.ok(found, `no response for ${url}`);
      });
      const [id, status] = found!;
      byId.delete(id);
      taken.add(id);
      return status;
    },
    asked: (url) => [...byId.values()].some((seen) => seen.url === url),
  };
}

/** In the page: a WebSocket to `url`; how it ended. */
function socket(url: string): string {
  return `new Promise((resolve) => {
    const ws = new WebSocket(${JSON.stringify(url)});
    ws.onopen = () => { resolve({ open: true }); ws.close(); };
    ws.onclose = (e) => resolve({ open: false, code: e.code });
  })`;
}

/** A web server whose only page is blank: another local web app. */
function otherApp(hostname: string) {
  return Deno.serve(
    { hostname, port: 0, onListen: () => {} },
    () =>
      new Response("<!doctype html><title>other</title>", {
        headers: { "content-type": "text/html" },
      }),
  );
}

Deno.test({
  name:
    "the printed URL renders the cluster, names the context, and leaves no secret in the address bar or the page's reach",
  ...unsanitized,
  async fn() {
    env = await teamCluster([
      persona("team-a", "checkout", {
        status: { phase: "Active", health: { status: "Healthy" } },
      }),
      persona("team-b", "search", {
        status: { phase: "Degraded", health: { status: "Unhealthy" } },
      }),
      clusterPersona("lab", { phase: "Ready", nodes: [{ name: "n1" }] }),
      deployment("team-a", "checkout"),
    ]);
    browser = await Browser.launch({
      args: [`--host-resolver-rules=MAP ${REBOUND} 127.0.0.1`],
    });
    dashboard = await spawnDashboard([
      "--kubeconfig",
      env.kubeconfig,
      "--no-browser",
    ]);
    const page = await browser.open();
    await page.recordCspViolations();
    await page.goto(dashboard.url);
    await page.waitFor(
      `document.querySelector("#connection").dataset.state === "live" &&
        performance.getEntriesByName("dorgu-ws:first-render").length > 0`,
    );
    assert.equal(page.driver.url(), `${dashboard.base}/`);
    assert.equal(await page.evaluate("location.hash"), "");
    const context = await page.text("#context");
    for (
      const part of [
        "envtest",
        new URL(env.primary.server).host,
        "all namespaces",
      ]
    ) {
      assert.ok(context.includes(part), `${part} in ${context}`);
    }
    const personas = await page.text("#persona-table");
    assert.match(personas, /checkout/);
    assert.match(personas, /search/);
    assert.match(await page.text("#cluster"), /lab/);
    const [cookie] = await page.driver.browserContext().cookies();
    assert.equal(cookie.name, `dorgu-ws-dashboard-${dashboard.port}`);
    assert.equal(cookie.httpOnly, true);
    assert.equal(cookie.sameSite, "Strict");
    assert.notEqual(cookie.value, dashboard.secret);
    assert.equal(await page.evaluate("document.cookie"), "");
    assert.ok(
      !(await page.evaluate<string>("document.URL")).includes("secret"),
    );
    // A reload needs no secret: the cookie is enough.
    await page.driver.reload({ waitUntil: "load" });
    await page.waitFor(
      `document.querySelector("#connection").dataset.state === "live"`,
    );
    assert.deepEqual(page.errors, []);
    assert.deepEqual(await page.cspViolations(), []);
    await page.driver.close();
  },
});

Deno.test({
  name:
    "a browser without the secret gets a locked page, 401 from /metrics and /ready, and a refused WebSocket; a stale secret says so",
  ...unsanitized,
  async fn() {
    const page = await browser.openIsolated();
    const seen = await responses(page);
    await page.goto(`${dashboard.base}/`);
    await page.waitFor(`!document.querySelector("#locked").hidden`);
    assert.match(
      await page.text("#locked"),
      /open the URL 'dorgu-ws dashboard' printed/,
    );
    assert.equal(await page.text("#connection"), "Locked");
    assert.equal(
      await page.evaluate(`document.querySelector("main").hidden`),
      true,
    );
    for (const path of ["/metrics", "/ready", "/version"]) {
      assert.equal(
        await page.evaluate(
          `fetch(${JSON.stringify(path)}).then((r) => r.status)`,
        ),
        401,
        path,
      );
    }
    assert.deepEqual(
      await page.evaluate(socket(`ws://127.0.0.1:${dashboard.port}/ws`)),
      { open: false, code: 1006 },
    );
    assert.ok(
      page.errors.some((e) => /HTTP Authentication failed|401/.test(e)),
      page.errors.join("\n"),
    );
    // The page itself followed nothing.
    assert.equal(seen.asked(`${dashboard.base}/ui/auth`), false);

    await page.goto("about:blank");
    await page.goto(`${dashboard.base}/#secret=${"x".repeat(43)}`);
    await page.waitFor(`!document.querySelector("#locked").hidden`);
    assert.match(
      await page.text("#locked"),
      /not the one this dashboard was started with/,
    );
    assert.equal(await page.evaluate("location.hash"), "");
    assert.deepEqual(await page.driver.browserContext().cookies(), []);
    await page.driver.browserContext().close();
  },
});

Deno.test({
  name:
    "other pages get nothing even where the cookie goes along: 403 for fetches, images, WebSockets and a form posted to the exchange; a rebound host name gets 421",
  ...unsanitized,
  async fn() {
    // The default context holds the cookie from the first test. Another
    // app on 127.0.0.1 is the same site: the browser sends it the cookie.
    const app = otherApp("127.0.0.1");
    const page = await browser.open(`http://127.0.0.1:${app.addr.port}/`);
    const seen = await responses(page);
    const target = `${dashboard.base}/metrics`;
    for (const mode of ["cors", "no-cors"]) {
      await page.evaluate(
        `fetch(${
          JSON.stringify(target)
        }, { mode: "${mode}", credentials: "include" }).catch(() => {})`,
      );
      assert.equal(await seen.statusOf(target), 403, mode);
    }
    await page.evaluate(`new Promise((resolve) => {
      const img = new Image();
      img.onload = img.onerror = resolve;
      img.src = ${JSON.stringify(`${dashboard.base}/ready`)};
    })`);
    assert.equal(await seen.statusOf(`${dashboard.base}/ready`), 403);
    assert.deepEqual(
      await page.evaluate(socket(`ws://127.0.0.1:${dashboard.port}/ws`)),
      { open: false, code: 1006 },
    );
    assert.ok(
      page.errors.some((e) => /Unexpected response code: 403/.test(e)),
      page.errors.join("\n"),
    );
    // A form another app posts to the exchange (CSRF): refused, no cookie.
    const before = await page.driver.browserContext().cookies();
    const [posted] = await Promise.all([
      page.driver.waitForNavigation(),
      page.evaluate(`(() => {
        const form = document.createElement("form");
        form.method = "POST";
        form.action = ${JSON.stringify(`${dashboard.base}/ui/session`)};
        document.body.append(form);
        form.submit();
      })()`),
    ]);
    assert.equal(posted?.status(), 403);
    assert.deepEqual(await page.driver.browserContext().cookies(), before);
    await app.shutdown();

    // DNS rebinding: a name that resolves to 127.0.0.1.
    const rebound = await page.driver.goto(
      `http://${REBOUND}:${dashboard.port}/`,
    );
    assert.equal(rebound?.status(), 421);
    assert.equal(
      await page.evaluate(`fetch("/metrics").then((r) => r.status)`),
      421,
    );
    await page.driver.close();

    const metrics = await fetch(`${dashboard.base}/metrics`, {
      headers: { authorization: `Bearer ${dashboard.secret}` },
    });
    const text = await metrics.text();
    assert.match(
      text,
      /^dorgu_ws_http_refused_total\{reason="origin"\} [4-9]$/m,
    );
    assert.match(text, /^dorgu_ws_http_refused_total\{reason="host"\} [2-9]$/m);
    assert.equal(await dashboard.process.stop("SIGINT"), 0);
  },
});

Deno.test({
  name:
    "an API server that is down shows on the page, which catches up once it is back",
  ...unsanitized,
  async fn() {
    const apiPort = Number(new URL(env.primary.server).port);
    const proxy = new TcpProxy(apiPort);
    const kubeconfig = `${env.dir}/kubeconfig-through-proxy`;
    await env.writeKubeconfig(kubeconfig, { token: "dorgu-ws-test-admin" }, {
      server: `https://127.0.0.1:${proxy.port}`,
    });
    await using down = await spawnDashboard([
      "--kubeconfig",
      kubeconfig,
      "--no-browser",
      "--log-level",
      "error",
    ]);
    assert.match(down.process.stderr.join("\n"), /Cannot reach the API server/);
    const page = await browser.open();
    try {
      await page.goto(down.url);
      await page.waitFor(
        `document.querySelector("#connection").dataset.state === "reconnecting"`,
      );
      assert.match(
        await page.text("#connection-detail"),
        /cannot be read yet: cannot reach the API server: .*Connection refused/,
      );
      proxy.start();
      await page.waitFor(
        `document.querySelector("#connection").dataset.state === "live" &&
          document.querySelector("#persona-table").innerText.includes("checkout")`,
        30_000,
      );
    } finally {
      proxy.stop();
      await browser.close();
      await env.stop();
    }
  },
});
