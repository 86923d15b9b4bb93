/**
 * `dorgu-ws watch` and `dorgu-ws get`, run as the binary runs, against a
 * real server (directory source), also run as the binary runs.
 */
import assert from "node:assert/strict";
import { load } from "js-yaml";
import * as v from "valibot";
import { ServerMessageSchema } from "../src/protocol/mod.ts";
import { spawnCli, TcpProxy } from "./support/proc.ts";
import {
  delay,
  editFile,
  runCli,
  type ServerProcess,
  spawnExample,
  spawnServer,
} from "./support/server.ts";

const unsanitized = { sanitizeOps: false, sanitizeResources: false };

Deno.test({
  name: "get prints kubectl-like tables",
  ...unsanitized,
  async fn() {
    const { server, url } = await spawnExample();
    try {
      const personas = await runCli(["get", "personas", "--url", url]);
      assert.equal(personas.code, 0, personas.stderr);
      assert.equal(
        personas.stdout,
        [
          "NAMESPACE    NAME              APP               TYPE     TIER       PHASE      HEALTH",
          "production   invoice-worker    invoice-worker    worker   standard   Failed     Unhealthy",
          "production   order-service     order-service     api      critical   Active     Healthy",
          "production   payment-gateway   payment-gateway   api      critical   Degraded   Degraded",
          "production   storefront        storefront        web      frontend   Active     Healthy",
          "staging      order-service     order-service     api      critical   Pending    Unknown",
          "staging      search-api        search-api        api      standard   Degraded   Unhealthy",
          "",
        ].join("\n"),
      );
      const staging = await runCli([
        "get",
        "personas",
        "-n",
        "staging",
        "--url",
        url,
      ]);
      // One namespace asked for: no NAMESPACE column, as kubectl.
      assert.equal(
        staging.stdout,
        [
          "NAME            APP             TYPE   TIER       PHASE      HEALTH",
          "order-service   order-service   api    critical   Pending    Unknown",
          "search-api      search-api      api    standard   Degraded   Unhealthy",
          "",
        ].join("\n"),
      );
      const cluster = await runCli(["get", "cluster", "--url", url]);
      assert.equal(
        cluster.stdout,
        "NAME           ENVIRONMENT   PHASE   VERSION   PLATFORM   NODES   APPS   ADDONS\n" +
          "eu-west-prod   production    Ready   v1.29.4   EKS        3       6      argocd,prometheus,cert-manager\n",
      );
      const deployments = await runCli([
        "get",
        "deployments",
        "--url",
        url,
      ]);
      assert.match(
        deployments.stdout.split("\n")[0],
        /^NAMESPACE +NAME +READY +UP-TO-DATE +AVAILABLE +ROLLOUT +PERSONA$/,
      );
      assert.match(
        deployments.stdout,
        /^production +payment-gateway +2\/3 +3 +2 +progressing +payment-gateway$/m,
      );
      // Images, as kubectl shows them, only with -o wide.
      const wide = await runCli([
        "get",
        "deployments",
        "-n",
        "production",
        "-o",
        "wide",
        "--url",
        url,
      ]);
      assert.match(
        wide.stdout.split("\n")[0],
        /^NAME +READY +UP-TO-DATE +AVAILABLE +ROLLOUT +PERSONA +IMAGES$/,
      );
      assert.match(
        wide.stdout,
        /^payment-gateway +2\/3 +3 +2 +progressing +payment-gateway +ghcr\.io\/acme\/payment-gateway:1\.9\.0,envoyproxy\/envoy:v1\.29\.2$/m,
      );
      const empty = await runCli([
        "get",
        "personas",
        "-n",
        "nowhere",
        "--url",
        url,
      ]);
      assert.equal(empty.code, 0);
      assert.equal(empty.stdout, "");
      assert.equal(
        empty.stderr.trim(),
        "No personas found in namespace nowhere.",
      );
    } finally {
      await server.stop();
    }
  },
});

Deno.test({
  name:
    "get -o json and -o yaml print a kind: List as kubectl does; DORGU_WS_URL sets the server",
  ...unsanitized,
  async fn() {
    const { server, url } = await spawnExample();
    try {
      const json = await runCli([
        "get",
        "personas",
        "-n",
        "staging",
        "-o",
        "json",
      ], {
        env: { DORGU_WS_URL: url },
      });
      assert.equal(json.code, 0, json.stderr);
      const parsed = JSON.parse(json.stdout);
      assert.equal(parsed.kind, "List");
      assert.equal(parsed.apiVersion, "v1");
      assert.deepEqual(parsed.items.map((p: { name: string }) => p.name), [
        "order-service",
        "search-api",
      ]);
      const cluster = {
        name: "eu-west-prod",
        environment: "production",
        phase: "Ready",
        kubernetesVersion: "v1.29.4",
        platform: "EKS",
        nodeCount: 3,
        applicationCount: 6,
        addons: ["argocd", "prometheus", "cert-manager"],
        nodes: [
          "ip-10-0-1-17.eu-west-1.compute.internal",
          "ip-10-0-2-41.eu-west-1.compute.internal",
          "ip-10-0-3-88.eu-west-1.compute.internal",
        ],
      };
      const yaml = await runCli(["get", "cluster", "-o", "yaml", "--url", url]);
      assert.deepEqual(load(yaml.stdout), {
        apiVersion: "v1",
        items: [cluster],
        kind: "List",
        metadata: { resourceVersion: "" },
      });
      // One object asked for by name prints as itself.
      const named = await runCli([
        "get",
        "cp",
        "eu-west-prod",
        "-o",
        "yaml",
        "--url",
        url,
      ]);
      assert.deepEqual(load(named.stdout), cluster);
      const one = await runCli([
        "get",
        "persona",
        "storefront",
        "-n",
        "production",
        "-o",
        "json",
        "--url",
        url,
      ]);
      // Asked for by name, a persona comes with its validation.
      assert.deepEqual(JSON.parse(one.stdout), {
        namespace: "production",
        name: "storefront",
        appName: "storefront",
        type: "web",
        tier: "frontend",
        phase: "Active",
        health: "Healthy",
        validation: {
          passed: true,
          issues: [{
            severity: "info",
            message: "consider enabling an ingress TLS redirect",
          }],
        },
      });
    } finally {
      await server.stop();
    }
  },
});

Deno.test({
  name:
    "watch prints one timestamped line per event; -o json one message a line; Ctrl+C exits 0",
  ...unsanitized,
  async fn() {
    const { dir, server, url } = await spawnExample();
    const text = spawnCli(["watch", "personas", "--url", url]);
    const json = spawnCli([
      "watch",
      "deployments",
      "-n",
      "production",
      "-o",
      "json",
      "--url",
      url,
    ]);
    try {
      await delay(1500);
      await editFile(`${dir}/production/personas.yaml`, {
        from: "phase: Failed",
        to: "phase: Active",
      });
      await editFile(`${dir}/production/deployments.yaml`, {
        from: "readyReplicas: 2",
        to: "readyReplicas: 3",
      });
      const [line] = await text.waitFor((l) =>
        l.includes(" updated ") && l.includes("invoice-worker")
      );
      assert.match(
        line,
        /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ {2}updated {3}production\/invoice-worker {2}phase=Active health=Unhealthy$/,
      );
      const [message] = await json.waitFor((l) =>
        l.includes('"type":"event"') && l.includes("payment-gateway")
      );
      const parsed = v.parse(ServerMessageSchema, JSON.parse(message));
      assert.equal(parsed.type, "event");
      assert.equal(
        (parsed.payload as { readyReplicas: number }).readyReplicas,
        3,
      );
      assert.equal(await text.stop("SIGINT"), 0);
      assert.equal(await json.stop("SIGINT"), 0);
      assert.deepEqual(text.stderr, []);
    } finally {
      await text.stop();
      await json.stop();
      await server.stop();
    }
  },
});

Deno.test({
  name:
    "watch across a network blip resumes without loss; across a restart it re-lists and says so",
  ...unsanitized,
  async fn() {
    const { dir, server } = await spawnExample();
    const proxy = new TcpProxy(server.port);
    proxy.start();
    const file = `${dir}/production/personas.yaml`;
    const watch = spawnCli([
      "watch",
      "personas",
      "--url",
      `ws://127.0.0.1:${proxy.port}/ws`,
    ]);
    let restarted: ServerProcess | undefined;
    try {
      await delay(1500);
      await editFile(file, { from: "phase: Failed", to: "phase: Pending" });
      await watch.waitFor((l) => l.includes("invoice-worker  phase=Pending"));
      // The connection drops; the server stays up (same epoch).
      proxy.stop();
      await watch.waitFor((l) => l.includes("lost the connection"), {
        stream: "stderr",
      });
      await editFile(file, { from: "phase: Pending", to: "phase: Active" });
      await editFile(file, {
        from: "status: Healthy\n",
        to: "status: Degraded\n",
      });
      await delay(500);
      proxy.start();
      await watch.waitFor((l) => l.includes("replayed 2 missed events"), {
        stream: "stderr",
      });
      await watch.waitFor((l) =>
        l.includes("order-service  phase=Active health=Degraded")
      );
      // Both missed updates, in whatever order the rescan produced them.
      const updates = await watch.waitFor((l) => l.includes(" updated "), {
        count: 3,
      });
      await delay(300);
      assert.equal(
        watch.stdout.filter((l) => l.includes(" updated ")).length,
        3,
      );
      assert.equal(updates.length, 3, updates.join("\n"));
      // Both edits may land in one rescan, so their order is not fixed.
      assert.deepEqual(
        updates.slice(1).map((l) => l.replace(/^\S+ {2}updated +/, "")).sort(),
        [
          "production/invoice-worker  phase=Active health=Unhealthy",
          "production/order-service  phase=Active health=Degraded",
        ],
      );

      // A restart: a new process, a new epoch, nothing to replay.
      await server.stop();
      await editFile(file, { from: "phase: Degraded", to: "phase: Failed" });
      restarted = await spawnServer([
        "--source",
        dir,
        "--websocket-addr",
        `127.0.0.1:${server.port}`,
      ]);
      await watch.waitFor((l) => l.includes("cannot replay what was missed"), {
        stream: "stderr",
      });
      // Six listed when it started, six more after the restart.
      const listed = (await watch.waitFor((l) => l.includes(" listed "), {
        count: 12,
      })).slice(6);
      assert.ok(
        listed.some((l) =>
          /listed +production\/payment-gateway {2}phase=Failed/.test(l)
        ),
        listed.join("\n"),
      );
      assert.equal(
        watch.stdout.filter((l) => l.includes(" updated ")).length,
        3,
      );
      assert.equal(await watch.stop("SIGINT"), 0);
    } finally {
      proxy.stop();
      await watch.stop();
      await server.stop();
      await restarted?.stop();
    }
  },
});
