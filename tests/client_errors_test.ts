/**
 * The CLI client's failures, run as the binary runs: errors are one clear
 * line and a non-zero exit, usage errors exit 2 with the usage line, and
 * the client path never loads the server's modules.
 */
import assert from "node:assert/strict";
import { closedUrl, runCli, spawnServer } from "./support/server.ts";

const unsanitized = { sanitizeOps: false, sanitizeResources: false };

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
