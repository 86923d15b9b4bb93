/**
 * Every way of reaching the API server a user's kubeconfig can describe,
 * against a real kube-apiserver: bearer tokens, client certificates, exec
 * plugins, token files that rotate, insecure-skip-tls-verify, merged
 * KUBECONFIG files and contexts, the in-cluster service account, and no
 * credentials at all.
 */
import assert from "node:assert/strict";
import { CredentialLoader } from "../src/kube/mod.ts";
import { KubernetesSource } from "../src/sources/kubernetes.ts";
import { patchStatus, persona } from "./support/cluster_objects.ts";
import { Envtest } from "./support/envtest.ts";
import {
  captureLog,
  runCli,
  spawnServer,
  startTestServer,
  waitReady,
} from "./support/server.ts";
import { TestClient } from "./support/ws_client.ts";

const unsanitized = { sanitizeOps: false, sanitizeResources: false };
let env: Envtest;

/** Runs the binary with a kubeconfig and checks it lists the cluster. */
async function servesWith(
  args: string[],
  envVars: Record<string, string> = {},
): Promise<void> {
  const server = await spawnServer(args, { env: envVars });
  try {
    await waitReady(`http://127.0.0.1:${server.port}`);
    const client = await TestClient.connect(`ws://127.0.0.1:${server.port}/ws`);
    const personas = await client.call("request", "personas");
    assert.deepEqual(
      (personas.payload?.personas as { name: string }[]).map((p) => p.name),
      ["probe"],
    );
    await client.close();
  } finally {
    await server.stop();
  }
}

Deno.test({
  name: "bearer token from a kubeconfig",
  ...unsanitized,
  async fn() {
    env = await Envtest.start();
    await env.installCrds();
    await env.ensureNamespace("prod");
    await env.apply([persona("prod", "probe")]);
    await servesWith(["--kubeconfig", env.kubeconfig]);
  },
});

Deno.test({
  name: "client certificate and key (mTLS)",
  ...unsanitized,
  async fn() {
    const { cert, key } = await env.clientCertificate(
      "cert-admin",
      "system:masters",
    );
    const path = `${env.dir}/kubeconfig-cert`;
    await env.writeKubeconfig(path, {
      "client-certificate-data": btoa(cert),
      "client-key-data": btoa(key),
    });
    await servesWith(["--kubeconfig", path]);
    // Files instead of inline data, relative to the kubeconfig.
    await Deno.writeTextFile(`${env.dir}/c.crt`, cert);
    await Deno.writeTextFile(`${env.dir}/c.key`, key);
    await env.writeKubeconfig(path, {
      "client-certificate": "c.crt",
      "client-key": "c.key",
    });
    await servesWith(["--kubeconfig", path]);
  },
});

Deno.test({
  name: "an exec credential plugin",
  ...unsanitized,
  async fn() {
    const { token } = await env.serviceAccount("kube-system", "exec-user", {
      clusterRole: "cluster-admin",
    });
    const marker = `${env.dir}/plugin-ran`;
    const path = `${env.dir}/kubeconfig-exec`;
    await env.writeExecKubeconfig(path, { token, marker });
    await servesWith(["--kubeconfig", path]);
    assert.ok((await Deno.readTextFile(marker)).length > 0, "the plugin ran");

    // Watching and reviewing client tokens share one credential loader, so
    // the plugin's credential is fetched once, not once per user of it.
    await Deno.remove(marker);
    const server = await spawnServer([
      "--kubeconfig",
      path,
      "--auth",
      "kubernetes",
    ]);
    try {
      await waitReady(`http://127.0.0.1:${server.port}`);
      const client = await TestClient.connect(
        `ws://127.0.0.1:${server.port}/ws`,
        {
          headers: { authorization: `Bearer ${token}` },
        },
      );
      assert.equal((await client.call("request", "personas")).type, "response");
      await client.close();
    } finally {
      await server.stop();
    }
    assert.equal(
      (await Deno.readTextFile(marker)).trim().split("\n").length,
      1,
    );
  },
});

Deno.test({
  name: "insecure-skip-tls-verify reaches a server whose CA is unknown",
  ...unsanitized,
  async fn() {
    const path = `${env.dir}/kubeconfig-insecure`;
    // No CA at all: the certificate cannot be verified, only skipped.
    await env.writeKubeconfig(path, { token: "dorgu-ws-test-admin" }, {
      "certificate-authority-data": undefined,
      "insecure-skip-tls-verify": true,
    });
    await servesWith(["--kubeconfig", path]);
  },
});

Deno.test({
  name:
    "KUBECONFIG files are merged and --context picks one; a wrong context is a clear error",
  ...unsanitized,
  async fn() {
    const broken = `${env.dir}/kubeconfig-broken`;
    await Deno.writeTextFile(
      broken,
      JSON.stringify({
        apiVersion: "v1",
        kind: "Config",
        clusters: [{
          name: "nowhere",
          cluster: { server: "https://127.0.0.1:1" },
        }],
        users: [{ name: "nobody", user: { token: "x" } }],
        contexts: [{
          name: "nowhere",
          context: { cluster: "nowhere", user: "nobody" },
        }],
        "current-context": "nowhere",
      }),
    );
    const merged = { KUBECONFIG: `${broken}:${env.kubeconfig}`, HOME: env.dir };
    await servesWith(["--context", "envtest"], merged);
    const wrong = await runCli(
      ["serve", "--context", "mars", "--websocket-addr", "127.0.0.1:0"],
      { env: merged },
    );
    assert.equal(wrong.code, 1);
    assert.match(
      wrong.stderr.trim(),
      /^dorgu-ws: The kubeconfig has no context named mars; it has nowhere, envtest\.$/,
    );
    // Without --context the merged file's current context (nowhere) is used:
    // unreachable, so not ready, with the reason.
    const server = await spawnServer([], { env: merged });
    try {
      const warning = await server.waitForLog((l) => l.level === "warn");
      assert.match(String(warning.reason), /^cannot reach the API server/);
      const ready = await fetch(`http://127.0.0.1:${server.port}/ready`);
      assert.equal(ready.status, 503);
      assert.match(
        JSON.stringify(await ready.json()),
        /cannot reach the API server/,
      );
    } finally {
      await server.stop();
    }
  },
});

Deno.test({
  name: "no credentials anywhere is one clear line and exit 1",
  ...unsanitized,
  async fn() {
    const home = await Deno.makeTempDir();
    const result = await runCli(["serve", "--websocket-addr", "127.0.0.1:0"], {
      env: { HOME: home, KUBECONFIG: "", KUBERNETES_SERVICE_HOST: "" },
    });
    assert.equal(result.code, 1);
    assert.match(
      result.stderr.trim(),
      /^dorgu-ws: No Kubernetes credentials: pass --kubeconfig, set KUBECONFIG/,
    );
    const missing = await runCli([
      "serve",
      "--kubeconfig",
      "/no/such/kubeconfig",
    ]);
    assert.equal(missing.code, 1);
    assert.match(
      missing.stderr,
      /The kubeconfig \/no\/such\/kubeconfig does not exist/,
    );
  },
});

Deno.test({
  name: "a rotated token file is read again on reconnect",
  ...unsanitized,
  async fn() {
    const admin = { clusterRole: "cluster-admin" };
    const first = await env.serviceAccount("kube-system", "rotating-1", admin);
    const second = await env.serviceAccount("kube-system", "rotating-2", admin);
    const tokenFile = `${env.dir}/token`;
    await Deno.writeTextFile(tokenFile, first.token);
    const path = `${env.dir}/kubeconfig-token-file`;
    await env.writeKubeconfig(path, { "token-file": tokenFile });
    const log = captureLog();
    const server = await startTestServer({ source: "kubernetes" }, {
      log: log.logger,
      source: (store, logger) =>
        new KubernetesSource(store, {
          credentials: new CredentialLoader({ kubeconfig: path }),
          namespaces: [],
          log: logger,
          informer: { backoffMs: [100, 500] },
        }),
    });
    await using _ = server;
    await waitReady(server.httpUrl);
    const client = await TestClient.connect(server.wsUrl);
    await client.call("subscribe", "personas");
    // Rotate: the old token stops working when its account goes away.
    await Deno.writeTextFile(tokenFile, second.token);
    await env.api(
      "DELETE",
      "/api/v1/namespaces/kube-system/serviceaccounts/rotating-1",
    );
    await env.primary.stop();
    await env.primary.start();
    await patchStatus(
      env.primary,
      "/apis/dorgu.io/v1/namespaces/prod/applicationpersonas/probe",
      {
        phase: "Active",
      },
    );
    const [event] = await client.waitForCount(
      (m) => m.type === "event",
      1,
      "an event after rotation",
      20_000,
    );
    assert.equal(event.payload?.phase, "Active");
    assert.ok(
      !log.lines.some((l) => /rejected the credentials/.test(String(l.reason))),
    );
    await client.close();
  },
});

Deno.test({
  name:
    "in a pod: the mounted service-account token, CA and the service address",
  async fn() {
    const root = await Deno.makeTempDir();
    const dir = `${root}/var/run/secrets/kubernetes.io/serviceaccount`;
    await Deno.mkdir(dir, { recursive: true });
    await Deno.writeTextFile(`${dir}/token`, "mounted-token");
    await Deno.writeTextFile(
      `${dir}/ca.crt`,
      "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n",
    );
    await Deno.writeTextFile(`${dir}/namespace`, "dorgu-system");
    const saved = [
      "HOME",
      "KUBECONFIG",
      "KUBERNETES_SERVICE_HOST",
      "KUBERNETES_SERVICE_PORT",
    ]
      .map((name) => [name, Deno.env.get(name)] as const);
    Deno.env.set("HOME", root);
    Deno.env.delete("KUBECONFIG");
    Deno.env.set("KUBERNETES_SERVICE_HOST", "10.96.0.1");
    Deno.env.set("KUBERNETES_SERVICE_PORT", "443");
    try {
      const access = await new CredentialLoader({ inClusterRoot: root }).load();
      assert.equal(access.server, "https://10.96.0.1:443");
      assert.equal(access.headers.authorization, "Bearer mounted-token");
      assert.match(access.caCerts[0], /BEGIN CERTIFICATE/);
      assert.equal(access.insecure, false);
    } finally {
      for (const [name, value] of saved) {
        if (value === undefined) Deno.env.delete(name);
        else Deno.env.set(name, value);
      }
    }
  },
});

Deno.test({
  name: "stop the control plane",
  ...unsanitized,
  async fn() {
    await env?.stop();
  },
});
