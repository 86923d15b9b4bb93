/**
 * `dorgu-ws dashboard` as a subprocess (run as the binary runs) against a
 * real kube-apiserver, with a kubeconfig written per test: an admin client
 * certificate, a service account that may read one namespace, an exec
 * credential plugin; the URL read from stdout as a user reads it; the
 * errors that stop it (one line, exit 1 or 2) and the ones it serves
 * through; Ctrl-C and SIGTERM. The browser opener: dashboard_opener_test.ts.
 */
import assert from "node:assert/strict";
import {
  clusterPersona,
  deployment,
  persona,
} from "./support/cluster_objects.ts";
import {
  adminCertificateKubeconfig,
  type DashboardProcess,
  namespaceReader,
  readWithSecret,
  spawnDashboard,
  teamCluster,
} from "./support/dashboard_cli.ts";
import type { Envtest } from "./support/envtest.ts";
import { closedUrl, eventually, runCli } from "./support/server.ts";
import { TestClient } from "./support/ws_client.ts";
import { compiledBinary } from "./tools/compiled.ts";

const unsanitized = { sanitizeOps: false, sanitizeResources: false };
let env: Envtest;

/** The personas the dashboard's server answers with, as namespace/name. */
async function personasVia(dashboard: DashboardProcess): Promise<string[]> {
  const client = await TestClient.connect(
    `ws://127.0.0.1:${dashboard.port}/ws`,
    { headers: { authorization: `Bearer ${dashboard.secret}` } },
  );
  try {
    let names: string[] = [];
    // The URL is printed before the first lists are in.
    await eventually(async () => {
      const reply = await client.call("request", "personas");
      const personas = reply.payload?.personas as
        | { namespace: string; name: string }[]
        | undefined;
      assert.ok(personas, JSON.stringify(reply));
      names = personas.map((p) => `${p.namespace}/${p.name}`);
    });
    return names;
  } finally {
    await client.close();
  }
}

Deno.test({
  name:
    "an admin client certificate: the printed URL's secret opens the cluster, nothing opens without it, Ctrl-C exits 0",
  ...unsanitized,
  async fn() {
    env = await teamCluster([
      persona("team-a", "api"),
      persona("team-b", "web"),
      clusterPersona("lab", { phase: "Ready" }),
      deployment("team-a", "api"),
    ]);
    const kubeconfig = await adminCertificateKubeconfig(env);
    const dashboard = await spawnDashboard([
      "--kubeconfig",
      kubeconfig,
      "--no-browser",
    ]);
    const { process, base, secret } = dashboard;
    assert.deepEqual(process.stdout.slice(0, 2), [
      `Serving the dashboard of context envtest (${env.primary.server}), all namespaces.`,
      "Open it with this URL; its secret lets a browser in, so keep it to yourself:",
    ]);
    assert.match(dashboard.url, /^http:\/\/127\.0\.0\.1:\d+\/#secret=/);
    assert.equal(secret.length, 43, "256 bits, base64url");
    assert.deepEqual(await personasVia(dashboard), [
      "team-a/api",
      "team-b/web",
    ]);
    assert.equal((await fetch(`${base}/metrics`)).status, 401);
    await assert.rejects(
      TestClient.connect(`ws://127.0.0.1:${dashboard.port}/ws`),
      /WebSocket failed/,
    );
    assert.equal((await readWithSecret(dashboard, "/ready")).status, 200);
    // The CLI is a client of it too, with the secret as its token.
    const get = await runCli(["get", "personas", "-n", "team-a"], {
      env: {
        DORGU_WS_URL: `ws://127.0.0.1:${dashboard.port}/ws`,
        DORGU_WS_TOKEN: secret,
      },
    });
    assert.equal(get.code, 0, get.stderr);
    assert.match(get.stdout, /^NAME +APP .*\napi +api /);
    assert.equal(await process.stop("SIGINT"), 0);
    assert.ok(
      !process.stderr.join("\n").includes(secret),
      "the secret is not on stderr",
    );
  },
});

Deno.test({
  name:
    "the compiled binary serves the dashboard, its page embedded, with an empty environment",
  ...unsanitized,
  async fn() {
    const { path } = await compiledBinary();
    await using dashboard = await spawnDashboard(
      ["--kubeconfig", env.kubeconfig, "--no-browser"],
      { binary: path },
    );
    const page = await fetch(`${dashboard.base}/`);
    assert.equal(page.status, 200);
    assert.match(await page.text(), /<script type="module" src="ui\/app\.js">/);
    const script = await fetch(`${dashboard.base}/ui/app.js`);
    assert.match(await script.text(), /ui\/session/);
    const session = await fetch(`${dashboard.base}/ui/session`, {
      method: "POST",
      headers: { authorization: `Bearer ${dashboard.secret}` },
    });
    assert.deepEqual(await session.json(), {
      private: true,
      ok: true,
      context: "envtest",
      server: env.primary.server,
      namespaces: [],
    });
    const cookie = session.headers.get("set-cookie")?.split(";")[0] ?? "";
    const ready = await fetch(`${dashboard.base}/ready`, {
      headers: { cookie },
    });
    await ready.body?.cancel();
    assert.notEqual(ready.status, 401);
    assert.deepEqual(await personasVia(dashboard), [
      "team-a/api",
      "team-b/web",
    ]);
    assert.equal(await dashboard.process.stop("SIGTERM"), 0);
  },
});

Deno.test({
  name:
    "a service account that may read one namespace: -n there serves it; without -n, another namespace, or without watch, one line and exit 1",
  ...unsanitized,
  async fn() {
    const kubeconfig = await namespaceReader(env, "team-a", "viewer");
    // Where kubectl looks when nothing says otherwise: ~/.kube/config.
    const home = await Deno.makeTempDir();
    await Deno.mkdir(`${home}/.kube`);
    await Deno.copyFile(kubeconfig, `${home}/.kube/config`);
    const user = { HOME: home, KUBECONFIG: "" };
    const forbidden = (scope: string) =>
      new RegExp(
        `^dorgu-ws: Error from server \\(Forbidden\\): applicationpersonas\\.dorgu\\.io is forbidden: User "system:serviceaccount:team-a:viewer" cannot list resource "applicationpersonas" in API group "dorgu\\.io" ${scope} \\(also forbidden: deployments\\.apps/v1 .*, events \\(v1\\) .*\\) with context envtest \\(user user\\)\\. The dashboard lists and watches ApplicationPersonas, ClusterPersonas, Deployments and Events: .*\\.\\n$`,
      );
    const all = await runCli(["dashboard", "--no-browser"], { env: user });
    assert.equal(all.code, 1, all.stderr);
    assert.match(all.stderr, forbidden("at the cluster scope"));
    assert.match(all.stderr, /pass -n with the namespaces you may read/);
    const other = await runCli(["dashboard", "-n", "team-b", "--no-browser"], {
      env: user,
    });
    assert.equal(other.code, 1);
    assert.match(other.stderr, forbidden(`in the namespace "team-b"`));
    assert.equal(other.stdout, "");

    // Listing without watching would leave the page stale: also one line.
    const lister = await namespaceReader(env, "team-a", "lister", {
      verbs: ["get", "list"],
    });
    const listOnly = await runCli([
      "dashboard",
      "--kubeconfig",
      lister,
      "-n",
      "team-a",
    ]);
    assert.equal(listOnly.code, 1);
    assert.match(
      listOnly.stderr,
      /^dorgu-ws: Error from server \(Forbidden\): applicationpersonas\.dorgu\.io is forbidden: User "system:serviceaccount:team-a:lister" cannot watch resource "applicationpersonas" in API group "dorgu\.io" in the namespace "team-a" .*: ask for list and watch on them\.\n$/,
    );

    await using dashboard = await spawnDashboard(
      ["--context", "envtest", "-n", "team-a", "--no-browser"],
      { env: user },
    );
    assert.equal(
      dashboard.process.stdout[0],
      `Serving the dashboard of context envtest (${env.primary.server}), namespace team-a.`,
    );
    assert.deepEqual(await personasVia(dashboard), ["team-a/api"]);
    await eventually(async () =>
      assert.equal((await readWithSecret(dashboard, "/ready")).status, 200)
    );
    assert.deepEqual(dashboard.process.stderr, []);
  },
});

Deno.test({
  name:
    "an exec credential plugin, found through KUBECONFIG and --context, runs once for the checks and the server",
  ...unsanitized,
  async fn() {
    const marker = `${env.dir}/dashboard-plugin-ran`;
    const kubeconfig = `${env.dir}/kubeconfig-dashboard-exec`;
    // The admin token the test API server knows (system:masters).
    await env.writeExecKubeconfig(kubeconfig, {
      token: "dorgu-ws-test-admin",
      marker,
    });
    await using dashboard = await spawnDashboard(
      ["--context", "envtest", "--no-browser"],
      { env: { KUBECONFIG: kubeconfig } },
    );
    assert.deepEqual(await personasVia(dashboard), [
      "team-a/api",
      "team-b/web",
    ]);
    assert.equal(
      (await Deno.readTextFile(marker)).trim().split("\n").length,
      1,
      "the plugin ran once",
    );
  },
});

Deno.test({
  name:
    "what stops it is one line: no kubeconfig, an unknown context, refused credentials, a port in use (exit 1), a non-loopback address (exit 2)",
  ...unsanitized,
  async fn() {
    const home = await Deno.makeTempDir();
    const none = await runCli(["dashboard", "--no-browser"], {
      env: { HOME: home, KUBECONFIG: "" },
    });
    assert.equal(none.code, 1);
    assert.equal(
      none.stderr,
      "dorgu-ws: No kubeconfig: pass --kubeconfig, set KUBECONFIG, or create ~/.kube/config (the file kubectl reads).\n",
    );
    const unknown = await runCli([
      "dashboard",
      "--kubeconfig",
      env.kubeconfig,
      "--context",
      "prod",
    ]);
    assert.equal(unknown.code, 1);
    assert.equal(
      unknown.stderr,
      "dorgu-ws: The kubeconfig has no context named prod; it has envtest.\n",
    );
    const failing = `${env.dir}/kubeconfig-failing-plugin`;
    await env.writeKubeconfig(failing, {
      exec: {
        apiVersion: "client.authentication.k8s.io/v1",
        command: "sh",
        args: ["-c", "echo 'the SSO session expired' >&2; exit 1"],
        interactiveMode: "Never",
      },
    });
    const plugin = await runCli(["dashboard", "--kubeconfig", failing]);
    assert.equal(plugin.code, 1);
    assert.match(
      plugin.stderr,
      /^the SSO session expired\ndorgu-ws: The credential plugin sh of context envtest \(user user\) failed \(exit code 1\); its messages are above\.\n$/,
    );
    const badToken = `${env.dir}/kubeconfig-bad-token`;
    await env.writeKubeconfig(badToken, { token: "not-a-token" });
    const refused = await runCli(["dashboard", "--kubeconfig", badToken]);
    assert.equal(refused.code, 1);
    assert.equal(
      refused.stderr,
      `dorgu-ws: The API server ${env.primary.server} refused the credentials of context envtest (user user): Unauthorized. Log in again, or fix the user in the kubeconfig.\n`,
    );
    const taken = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const port = (taken.addr as Deno.NetAddr).port;
    try {
      const busy = await runCli([
        "dashboard",
        "--kubeconfig",
        env.kubeconfig,
        "--port",
        String(port),
        "--no-browser",
      ]);
      assert.equal(busy.code, 1);
      assert.equal(
        busy.stderr,
        `dorgu-ws: Cannot listen on 127.0.0.1:${port}: it is already in use. Pass another --port, or leave it out for a free one.\n`,
      );
    } finally {
      taken.close();
    }
    const open = await runCli(["dashboard", "--address", "0.0.0.0"]);
    assert.equal(open.code, 2);
    assert.match(
      open.stderr,
      /^dorgu-ws: --address 0\.0\.0\.0 is not a loopback address: the dashboard serves plain HTTP, .* Pass --allow-non-loopback too if that is what you want .*\.\n$/,
    );
    for (
      const [args, message] of [
        [["--port", "70000"], /--port must be a whole number from 0 to 65535/],
        [["prod"], /Unexpected argument 'prod'; dashboard takes flags only/],
        [["--address", "example.com"], /must be an IP address or localhost/],
      ] as const
    ) {
      const usage = await runCli(["dashboard", ...args]);
      assert.equal(usage.code, 2, usage.stderr);
      assert.match(usage.stderr, message);
    }
  },
});

Deno.test({
  name:
    "an unreachable API server can heal: it serves anyway, says so once, and /ready names what it waits for",
  ...unsanitized,
  async fn() {
    const down = `${env.dir}/kubeconfig-down`;
    await env.writeKubeconfig(down, { token: "dorgu-ws-test-admin" }, {
      server: closedUrl().replace("ws://", "https://").replace("/ws", ""),
    });
    await using dashboard = await spawnDashboard([
      "--kubeconfig",
      down,
      "--no-browser",
      "--log-level",
      "error",
    ]);
    const stderr = dashboard.process.stderr;
    assert.equal(stderr.length, 1, stderr.join("\n"));
    assert.match(
      stderr[0],
      /^dorgu-ws: Cannot reach the API server https:\/\/127\.0\.0\.1:\d+ \(.*Connection refused.*\); serving anyway: the page shows the cluster once it answers\.$/,
    );
    const ready = await readWithSecret(dashboard, "/ready");
    assert.equal(ready.status, 503);
    assert.match(
      JSON.parse(ready.body).pending.personas,
      /cannot reach the API server/,
    );
    await env.stop();
  },
});
