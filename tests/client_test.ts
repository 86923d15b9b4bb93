/**
 * `dorgu-ws watch` and `dorgu-ws get`, run as the binary runs, against a
 * real server (directory source), also run as the binary runs.
 */
import assert from "node:assert/strict";
import { load } from "js-yaml";
import * as v from "valibot";
import { ServerMessageSchema } from "../src/protocol/mod.ts";
import { serveFake } from "./support/fake_server.ts";
import { spawnCli, TcpProxy } from "./support/proc.ts";
import {
  closedUrl,
  copyExamples,
  delay,
  editFile,
  runCli,
  type ServerProcess,
  spawnServer,
} from "./support/server.ts";

const unsanitized = { sanitizeOps: false, sanitizeResources: false };

async function exampleServer(
  args: string[] = [],
): Promise<{ dir: string; server: ServerProcess; url: string }> {
  const dir = await copyExamples();
  const server = await spawnServer(["--source", dir, ...args]);
  return { dir, server, url: `ws://127.0.0.1:${server.port}/ws` };
}

Deno.test({
  name: "get prints kubectl-like tables",
  ...unsanitized,
  async fn() {
    const { server, url } = await exampleServer();
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
    const { server, url } = await exampleServer();
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
    const { dir, server, url } = await exampleServer();
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
    const { dir, server } = await exampleServer();
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

Deno.test({
  name: "errors are one clear line and a non-zero exit",
  ...unsanitized,
  async fn() {
    const closed = closedUrl();
    const refused = await runCli(["get", "personas", "--url", closed]);
    assert.equal(refused.code, 1);
    assert.match(
      refused.stderr.trim(),
      /^dorgu-ws: Cannot connect to ws:\/\/127\.0\.0\.1:\d+\/ws: connection refused\. Is dorgu-ws running there\?/,
    );
    assert.equal(refused.stderr.trim().split("\n").length, 1);
    // The port-forward hint names the namespace, as kubectl needs it.
    assert.match(
      refused.stderr,
      /kubectl -n NAMESPACE port-forward svc\/dorgu-ws 9090/,
    );
    const refusedWatch = await runCli(["watch", "events", "--url", closed]);
    assert.equal(refusedWatch.code, 1);

    // A port that accepts but never answers.
    const silent = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const held: Deno.Conn[] = [];
    (async () => {
      for await (const conn of silent) held.push(conn);
    })().catch(() => {});
    const started = Date.now();
    const timeout = await runCli([
      "get",
      "cluster",
      "--timeout",
      "1s",
      "--url",
      `ws://127.0.0.1:${(silent.addr as Deno.NetAddr).port}/ws`,
    ]);
    assert.equal(timeout.code, 1);
    assert.match(
      timeout.stderr.trim(),
      /^dorgu-ws: No answer from ws:\/\/127\.0\.0\.1:\d+\/ws within 1 s\.$/,
    );
    assert.ok(Date.now() - started < 10_000);
    silent.close();
    held.forEach((c) => c.close());

    const empty = await Deno.makeTempDir();
    const { server, url } = await (async () => {
      const server = await spawnServer(["--source", empty]);
      return { server, url: `ws://127.0.0.1:${server.port}/ws` };
    })();
    try {
      // No ClusterPersona yet is nothing to list, as kubectl has it: exit 0.
      const missing = await runCli(["get", "cluster", "--url", url]);
      assert.equal(missing.code, 0);
      assert.equal(missing.stdout, "");
      assert.equal(
        missing.stderr,
        "No ClusterPersona exists yet; the dorgu operator creates one when it discovers the cluster.\n",
      );
      const empty = await runCli(["get", "cp", "-o", "json", "--url", url]);
      assert.equal(empty.code, 0, empty.stderr);
      assert.deepEqual(JSON.parse(empty.stdout), {
        apiVersion: "v1",
        items: [],
        kind: "List",
        metadata: { resourceVersion: "" },
      });
      const named = await runCli(["get", "cp", "eu-west", "--url", url]);
      assert.equal(named.code, 1);
      assert.match(
        named.stderr,
        /^dorgu-ws: No ClusterPersona is named "eu-west"/,
      );
      const wrongPath = await runCli([
        "get",
        "personas",
        "--url",
        url.replace("/ws", "/nope"),
      ]);
      assert.equal(wrongPath.code, 1);
      assert.match(
        wrongPath.stderr,
        /is not a dorgu-ws WebSocket endpoint \(HTTP 404\); the path is \/ws/,
      );
      // TLS to a server without it: not the TLS library's words.
      const tls = await runCli([
        "get",
        "personas",
        "--url",
        url.replace("ws:", "wss:"),
      ]);
      assert.equal(tls.code, 1);
      assert.equal(
        tls.stderr.trim(),
        `dorgu-ws: Cannot connect to ${
          url.replace("ws:", "wss:")
        }: the server does not speak TLS there; use ${url} for a server without TLS.`,
      );
    } finally {
      await server.stop();
    }
    // A 404 from something in front of dorgu-ws, for a URL already on /ws.
    const proxy = Deno.serve(
      { hostname: "127.0.0.1", port: 0, onListen: () => {} },
      () => new Response("no route\n", { status: 404 }),
    );
    try {
      const routed = await runCli([
        "get",
        "personas",
        "--url",
        `ws://127.0.0.1:${proxy.addr.port}/team-a/ws`,
      ]);
      assert.equal(routed.code, 1);
      assert.match(
        routed.stderr.trim(),
        /^dorgu-ws: ws:\/\/127\.0\.0\.1:\d+\/team-a\/ws answered HTTP 404: something in front of dorgu-ws .* does not route this path to it; check the URL's host, port and path prefix\.$/,
      );
      assert.doesNotMatch(routed.stderr, /the path is \/ws/);
    } finally {
      await proxy.shutdown();
    }
  },
});

Deno.test({
  name:
    "usage errors exit 2: one line naming the flag and what to do, then the usage line",
  async fn() {
    const cases: [string[], RegExp][] = [
      [
        ["get"],
        /^dorgu-ws: Get what\? Choose personas \(ap\), cluster \(cp\), deployments \(deploy\), events \(ev\)\.$/,
      ],
      [
        ["watch", "pods"],
        /^dorgu-ws: Cannot watch 'pods'\. Choose personas \(ap\), cluster \(cp\), deployments \(deploy\), events \(ev\)\.$/,
      ],
      [
        ["get", "personas", "-o", "xml"],
        /^dorgu-ws: -o must be table, wide, name, json or yaml, got 'xml'\.$/,
      ],
      [
        ["watch", "events", "-o", "yaml"],
        /^dorgu-ws: -o must be text or json, got 'yaml'\.$/,
      ],
      [["get", "cluster", "-n", "prod"], /cluster-scoped: -n does not apply/],
      [
        ["get", "personas", "-n", "Bad_NS"],
        /^dorgu-ws: -n 'Bad_NS' is not a namespace name/,
      ],
      [["get", "ap", "-n", "prod", "-A"], /^dorgu-ws: -n and -A contradict/],
      [
        ["get", "personas", "--url", "http://localhost:9090/ws"],
        /^dorgu-ws: --url must be a ws:\/\/ or wss:\/\/ URL, got 'http:\/\/localhost:9090\/ws'; write ws:\/\/localhost:9090\/ws instead\.$/,
      ],
      [
        ["get", "personas", "--bogus"],
        /^dorgu-ws: Unknown flag '--bogus'; run 'dorgu-ws get --help' for its flags\.$/,
      ],
      [["get", "ap", "-n"], /^dorgu-ws: -n needs a value/],
      [
        ["get", "personas", "--timeout", "soon"],
        /^dorgu-ws: --timeout must be a duration such as 10s/,
      ],
      [
        ["get", "personas", "--timeout", "abc"],
        /^dorgu-ws: --timeout must be a duration/,
      ],
      [
        ["get", "personas", "--timeout", "0"],
        /^dorgu-ws: --timeout must be longer than zero/,
      ],
      [
        ["get", "personas", "--timeout", "1000h"],
        /^dorgu-ws: --timeout must be at most 24 days \(596h\), got '1000h'\.$/,
      ],
      [
        ["get", "ap", "--type", "Warning"],
        /^dorgu-ws: --type applies to events only/,
      ],
      [
        ["get", "ev", "--type", "Loud"],
        /^dorgu-ws: --type must be Normal or Warning/,
      ],
      [
        ["get", "ev", "--for", "storefront"],
        /^dorgu-ws: --for must be KIND\/NAME/,
      ],
      [
        ["get", "ev", "--limit", "0"],
        /^dorgu-ws: --limit must be a whole number from 1/,
      ],
      [
        ["get", "ev", "web"],
        /^dorgu-ws: get events takes no NAME; .*--for persona\/web/,
      ],
      [
        ["get", "ap", "-l", "colour=red"],
        /^dorgu-ws: -l for personas selects on app, type, tier, phase or health, not 'colour'\.$/,
      ],
      [
        ["watch", "ap", "-l", "tier=critical"],
        /^dorgu-ws: -l for personas selects on phase or health, not 'tier'\.$/,
      ],
      [
        ["get", "ap", "-l", "tier"],
        /^dorgu-ws: -l for personas must be KEY=VALUE/,
      ],
      [
        ["get", "ap", "-w", "-o", "json"],
        /^dorgu-ws: get -w prints table rows; for JSON lines run 'dorgu-ws watch personas -o json'\.$/,
      ],
      [
        ["get", "ap", "--url", "ws://a/ws", "--server", "b"],
        /^dorgu-ws: --url and --server both name a server/,
      ],
    ];
    for (const [args, pattern] of cases) {
      const result = await runCli(args);
      assert.equal(result.code, 2, `${args.join(" ")}: ${result.stderr}`);
      const lines = result.stderr.trim().split("\n");
      assert.equal(lines.length, 2, `${args.join(" ")}: ${result.stderr}`);
      assert.match(lines[0], pattern, args.join(" "));
      assert.match(lines[1], /^Usage: dorgu-ws (get|watch) /, args.join(" "));
    }
  },
});

Deno.test({
  name:
    "a server that requires a token: --token, DORGU_WS_TOKEN, and a clear refusal",
  ...unsanitized,
  async fn() {
    const tokens = await Deno.makeTempFile();
    await Deno.writeTextFile(tokens, "s3cret,ops\n");
    const { server, url } = await exampleServer([
      "--auth",
      "token",
      "--token-file",
      tokens,
    ]);
    try {
      const none = await runCli(["get", "cluster", "--url", url]);
      assert.equal(none.code, 1);
      assert.match(
        none.stderr.trim(),
        /requires a token \(HTTP 401\); pass --token or set DORGU_WS_TOKEN\.$/,
      );
      const wrong = await runCli([
        "get",
        "cluster",
        "--url",
        url,
        "--token",
        "nope",
      ]);
      assert.match(wrong.stderr.trim(), /refused the token \(HTTP 401\)/);
      const flag = await runCli([
        "get",
        "cluster",
        "--url",
        url,
        "--token",
        "s3cret",
      ]);
      assert.equal(flag.code, 0, flag.stderr);
      const env = await runCli(["get", "cluster", "--url", url], {
        env: { DORGU_WS_TOKEN: "s3cret" },
      });
      assert.equal(env.code, 0, env.stderr);
    } finally {
      await server.stop();
    }
  },
});

Deno.test({
  name:
    "a server that upgrades, then neither answers nor ever closes: watch ends in one line soon after --timeout",
  ...unsanitized,
  async fn() {
    // Accepts the upgrade, then reads and ignores everything, the close
    // frame included: Deno's WebSocket would wait for its answer for ever.
    const mute = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const held: Deno.Conn[] = [];
    (async () => {
      for await (const conn of mute) {
        held.push(conn);
        (async () => {
          const buffer = new Uint8Array(16384);
          const read = await conn.read(buffer);
          const head = new TextDecoder().decode(buffer.subarray(0, read ?? 0));
          const key = /sec-websocket-key: *(\S+)/i.exec(head)?.[1] ?? "";
          const digest = await crypto.subtle.digest(
            "SHA-1",
            new TextEncoder().encode(
              `${key}258EAFA5-E914-47DA-95CA-C5AB0DC11799`,
            ),
          );
          const accept = btoa(String.fromCharCode(...new Uint8Array(digest)));
          await conn.write(new TextEncoder().encode(
            `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`,
          ));
          while ((await conn.read(buffer)) !== null) { /* ignored */ }
        })().catch(() => {});
      }
    })().catch(() => {});
    try {
      const started = Date.now();
      const result = await runCli([
        "watch",
        "personas",
        "--timeout",
        "1s",
        "--url",
        `ws://127.0.0.1:${(mute.addr as Deno.NetAddr).port}/ws`,
      ]);
      assert.match(
        result.stderr,
        /^dorgu-ws: No reply from ws:\/\/127\.0\.0\.1:\d+\/ws to request personas within 1 s\.\n$/,
      );
      assert.equal(result.code, 1);
      // The reply's second, then at most the close's two.
      assert.ok(Date.now() - started < 8000, `${Date.now() - started} ms`);
    } finally {
      mute.close();
      held.forEach((conn) => conn.close());
    }
  },
});

Deno.test("the client path (get, watch, version) never loads the server, the hub or the Kubernetes client", async () => {
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json", new URL("../main.ts", import.meta.url).pathname],
    stdout: "piped",
  }).output();
  const graph = JSON.parse(new TextDecoder().decode(output.stdout)) as {
    modules: {
      specifier: string;
      dependencies?: {
        specifier: string;
        code?: { specifier: string };
        isDynamic?: boolean;
      }[];
    }[];
    packages?: Record<string, string>;
  };
  const bySpecifier = new Map(graph.modules.map((m) => [m.specifier, m]));
  const main = graph.modules.find((m) => m.specifier.endsWith("/main.ts"))!;
  const lazy = (path: string) => {
    const dep = main.dependencies?.find((d) => d.specifier.endsWith(path));
    assert.ok(dep?.isDynamic, `main.ts loads ${path} lazily`);
    return dep!.code!.specifier;
  };
  const cli = lazy("src/cli/mod.ts");
  const version = lazy("src/cli/version.ts");
  // Everything main.ts and the client load without a dynamic import.
  const reached = new Set<string>();
  const visit = (specifier: string) => {
    if (reached.has(specifier)) return;
    reached.add(specifier);
    for (const dep of bySpecifier.get(specifier)?.dependencies ?? []) {
      if (!dep.isDynamic && dep.code?.specifier) visit(dep.code.specifier);
    }
  };
  visit(main.specifier);
  visit(cli);
  visit(version);
  const loaded = [...reached];
  for (const module of ["follow", "get", "watch", "settings"]) {
    assert.ok(loaded.some((s) => s.endsWith(`src/cli/${module}.ts`)), module);
  }
  // The protocol is spoken by the client library; its TLS dialer (and the
  // ws package) only when TLS options are given.
  for (const module of ["connection", "follow", "client"]) {
    assert.ok(
      loaded.some((s) => s.endsWith(`src/client/${module}.ts`)),
      module,
    );
  }
  for (
    const forbidden of [
      /src\/server\//,
      /src\/hub\//,
      /src\/kube\//,
      /src\/sources\//,
      /client-node/,
      /js-yaml/,
      /src\/client\/tls\.ts/,
      /npm:\/?ws@/,
    ]
  ) {
    assert.deepEqual(
      loaded.filter((s) => forbidden.test(s)),
      [],
      String(forbidden),
    );
  }
});

Deno.test({
  name:
    "a server that breaks the protocol is one clear error, not a garbled line",
  ...unsanitized,
  async fn() {
    // A fake server: answers the subscribe, then sends an event whose
    // payload is not a PersonaEvent.
    const server = serveFake(({ requestId, type }) => {
      const timestamp = new Date().toISOString();
      return [{
        type: "response",
        topic: "personas",
        requestId,
        payload: type === "request" ? { personas: [] } : {
          status: "subscribed",
          topic: "personas",
          epoch: "e",
          offset: 0,
        },
        timestamp,
        epoch: "e",
        offset: 0,
      }, {
        type: "event",
        topic: "personas",
        payload: { eventType: "exploded", name: 7 },
        timestamp,
        offset: 1,
      }];
    });
    try {
      const result = await runCli(
        ["watch", "personas", "--url", server.url],
        { offContract: "a fake server's malformed event, on purpose" },
      );
      assert.equal(result.code, 1);
      assert.equal(result.stdout, "");
      assert.match(
        result.stderr.trim(),
        /^dorgu-ws: The server sent a message this client does not understand \(payload\.eventType: .*\); are client and server the same version\?$/,
      );
    } finally {
      await server.shutdown();
    }
  },
});
