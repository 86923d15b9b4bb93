/**
 * The real compiled binary (built by tests/tools/compiled.ts from the
 * current sources), run from an empty directory with an empty environment.
 * The command line run as `main.ts` with the binary's permissions is in
 * command_line_test.ts; each flag's environment variable in
 * flag_env_test.ts.
 */
import assert from "node:assert/strict";
import manifest from "../deno.json" with { type: "json" };
import { RUNTIME_PERMISSIONS, RUNTIME_V8_FLAGS } from "../tools/permissions.ts";
import { LIBC_PATHS } from "../src/server/native_heap.ts";
import { persona } from "./support/cluster_objects.ts";
import { Envtest } from "./support/envtest.ts";
import { readLines } from "./support/lines.ts";
import { delay, runCli, spawnServer, waitReady } from "./support/server.ts";
import { run } from "./tools/cache.ts";
import { compiledBinary, TESTED_DENO, testedDeno } from "./tools/compiled.ts";

const unsanitized = { sanitizeOps: false, sanitizeResources: false };
const compiled = await compiledBinary();
const BINARY = compiled.path;
const NAME = BINARY.split("/").pop();

// The compiled binary runs here: nothing to find in its working directory.
const EMPTY = await Deno.makeTempDir({ prefix: "dorgu-ws-empty-" });
globalThis.addEventListener("unload", () => Deno.removeSync(EMPTY));

/** Options that run the compiled binary from an empty directory with only `env` in its environment. */
function bare(env: Record<string, string> = {}) {
  return { binary: BINARY, cwd: EMPTY, env };
}

Deno.test(`compiled binary ${NAME}: version, from an empty directory with an empty environment`, async () => {
  console.log(
    `running ${BINARY} (${
      (compiled.bytes / 1e6).toFixed(1)
    } MB, Deno ${TESTED_DENO})`,
  );
  const version = await runCli(["version"], bare());
  assert.equal(version.code, 0, version.stderr);
  // The runtime it reports is the one it was compiled on.
  assert.equal(
    version.stdout.replace(/commit [^,]+/, "commit C"),
    `Client Version: ${manifest.version} (commit C, Deno ${TESTED_DENO}, x86_64-unknown-linux-gnu)\n`,
  );
  assert.equal(version.stderr, "");
  const unknown = await runCli(["--allow-write"], bare());
  assert.equal(unknown.code, 2, "runtime flags are the program's arguments");
});

Deno.test({
  name:
    `compiled binary ${NAME}: serve --source demo, and get against it with the same binary`,
  ...unsanitized,
  async fn() {
    const server = await spawnServer(["--source", "demo"], bare());
    try {
      const url = `ws://127.0.0.1:${server.port}/ws`;
      const cluster = await runCli(
        ["get", "cluster", "-o", "json", "--url", url],
        bare(),
      );
      assert.equal(cluster.code, 0, cluster.stderr);
      assert.equal(JSON.parse(cluster.stdout).items[0].name, "eu-west-prod");
      const personas = await runCli(
        ["get", "personas", "-n", "production", "--url", url],
        bare({ NO_COLOR: "1" }),
      );
      assert.equal(personas.code, 0, personas.stderr);
      assert.match(personas.stdout, /^NAME +APP +TYPE/);
      assert.match(personas.stdout, /^payment-gateway +payment-gateway +api/m);
      assert.doesNotMatch(personas.stdout, /search-api/); // in staging
      const health = await fetch(`http://127.0.0.1:${server.port}/health`);
      assert.equal(await health.text(), "ok\n");
      // The dashboard's page and script are embedded, as built.
      const page = await fetch(`http://127.0.0.1:${server.port}/`);
      assert.equal(page.status, 200);
      assert.match(
        await page.text(),
        /<script type="module" src="ui\/app.js">/,
      );
      const script = await fetch(`http://127.0.0.1:${server.port}/ui/app.js`);
      assert.deepEqual(
        await script.bytes(),
        await Deno.readFile(
          new URL("../src/dashboard/built/app.js", import.meta.url),
        ),
      );
      // So is the protocol's AsyncAPI document, as committed.
      const contract = await fetch(
        `http://127.0.0.1:${server.port}/asyncapi.json`,
      );
      assert.deepEqual(
        await contract.bytes(),
        await Deno.readFile(new URL("../docs/asyncapi.json", import.meta.url)),
      );
    } finally {
      assert.equal((await server.stop()).code, 0);
    }
    for (const line of server.logs) {
      assert.equal(typeof line, "object", `not a JSON log line: ${line}`);
    }
  },
});

Deno.test({
  name:
    `compiled binary ${NAME}: serve follows a real kube-apiserver; get and watch see its objects`,
  ...unsanitized,
  async fn() {
    const env = await Envtest.start();
    await env.installCrds();
    await env.ensureNamespace("shop");
    await env.apply([persona("shop", "cart")]);
    const server = await spawnServer(
      ["--kubeconfig", env.kubeconfig],
      bare(),
    );
    // Until the server has listed, a watch is told to retry (and says so).
    await waitReady(`http://127.0.0.1:${server.port}`);
    const watch = new Deno.Command(BINARY, {
      cwd: EMPTY,
      args: [
        "watch",
        "personas",
        "-o",
        "json",
        "--url",
        `ws://127.0.0.1:${server.port}/ws`,
      ],
      clearEnv: true,
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const watched: Record<string, unknown>[] = [];
    const watching = readLines(
      watch.stdout,
      (line) => watched.push(JSON.parse(line)),
    );
    const watchErrors = new Response(watch.stderr).text();
    try {
      const listed = await runCli([
        "get",
        "personas",
        "-o",
        "json",
        "--url",
        `ws://127.0.0.1:${server.port}/ws`,
      ], bare());
      assert.equal(listed.code, 0, listed.stderr);
      assert.deepEqual(
        JSON.parse(listed.stdout).items.map((p: { name: string }) => p.name),
        ["cart"],
      );
      // watch lists first, then follows: a persona created now is an event.
      for (let i = 0; i < 150 && watched.length === 0; i++) await delay(100);
      assert.equal(watched[0]?.type, "response", "watch lists first");
      await env.api(
        "POST",
        "/apis/dorgu.io/v1/namespaces/shop/applicationpersonas",
        persona("shop", "checkout"),
      );
      const deadline = Date.now() + 15_000;
      while (
        !watched.some((m) =>
          (m.payload as { name?: string })?.name === "checkout"
        )
      ) {
        assert.ok(
          Date.now() < deadline,
          `watch printed ${JSON.stringify(watched)}`,
        );
        await delay(100);
      }
      const event = watched.find((m) =>
        (m.payload as { name?: string })?.name === "checkout"
      )!;
      assert.equal(event.type, "event");
      assert.equal(event.topic, "personas");
      assert.equal(
        (event.payload as { eventType: string }).eventType,
        "created",
      );
    } finally {
      watch.kill("SIGTERM");
      assert.equal((await watch.status).code, 0);
      await watching;
      assert.equal(await watchErrors, "");
      await server.stop();
      await env.stop();
    }
    assert.ok(
      server.logs.some((l) =>
        typeof l === "object" && l.msg === "Following the cluster"
      ),
    );
  },
});

Deno.test({
  name:
    `compiled binary ${NAME}: exactly net, read, env, run and FFI into the C library alone; a write is refused without a prompt`,
  ...unsanitized,
  async fn() {
    // What the binary carries: [] means all, null none.
    const text = new TextDecoder("latin1").decode(await Deno.readFile(BINARY));
    const baked = JSON.parse(
      /"permissions":(\{[^}]*"prompt":(?:true|false)\})/.exec(text)?.[1] ??
        "null",
    );
    assert.ok(baked, "the binary carries its permissions");
    const summary = (p: Record<string, unknown>) => ({
      net: p.allow_net,
      read: p.allow_read,
      env: p.allow_env,
      run: p.allow_run,
      write: p.allow_write,
      ffi: p.allow_ffi,
      sys: p.allow_sys,
      prompt: p.prompt,
    });
    assert.deepEqual(summary(baked), {
      net: [],
      read: [],
      env: [],
      run: [],
      write: null,
      // The C library's own file, for malloc_trim (native_heap.ts).
      ffi: [...LIBC_PATHS],
      sys: null,
      prompt: false,
    });
    // TLS renewal binds a second listener (SO_REUSEPORT): --unstable-net.
    assert.match(
      text,
      /"unstable_config":\{[^}]*"features":\[[^\]]*"net"/,
      "the binary runs with --unstable-net",
    );
    // The memory reducer needs V8's gc (src/server/memory_reducer.ts).
    const v8Flags = JSON.parse(
      /"v8_flags":(\[[^\]]*\])/.exec(text)?.[1] ?? "[]",
    );
    for (const flag of RUNTIME_V8_FLAGS) {
      assert.ok(v8Flags.includes(flag), `the binary runs with ${flag}`);
    }
    // dorgu-ws never writes, so a probe compiled on the same runtime with
    // the same flags tries, on a terminal, where Deno would ask if it could.
    const dir = await Deno.makeTempDir({ prefix: "dorgu-ws-probe-" });
    await Deno.writeTextFile(
      `${dir}/probe.ts`,
      `const outcome = {};
      for (const [name, attempt] of Object.entries({
        read: () => Deno.readTextFileSync("/etc/hostname"),
        write: () => Deno.writeTextFileSync(Deno.args[0], "x"),
        sys: () => Deno.hostname(),
      })) {
        try { attempt(); outcome[name] = "allowed"; }
        catch (error) { outcome[name] = error.name; }
      }
      console.log(JSON.stringify(outcome));`,
    );
    const tested = await testedDeno();
    await run(tested.deno, [
      "compile",
      "--no-check",
      ...RUNTIME_PERMISSIONS,
      "--output",
      `${dir}/probe`,
      `${dir}/probe.ts`,
    ], { env: tested.env });
    const probeText = new TextDecoder("latin1").decode(
      await Deno.readFile(`${dir}/probe`),
    );
    const probeBaked = JSON.parse(
      /"permissions":(\{[^}]*"prompt":(?:true|false)\})/.exec(probeText)![1],
    );
    assert.deepEqual(summary(probeBaked), summary(baked));
    const target = `${dir}/written`;
    // `script` gives the probe a terminal, and its input stays open: a
    // prompt would wait there for an answer until the test gives up.
    const probe = new Deno.Command("script", {
      args: ["-qec", `${dir}/probe ${target}`, "/dev/null"],
      stdin: "piped",
      stdout: "piped",
      stderr: "null",
    }).spawn();
    const timer = setTimeout(() => probe.kill("SIGKILL"), 20_000);
    const output = await probe.output();
    clearTimeout(timer);
    await probe.stdin.close().catch(() => {});
    const printed = new TextDecoder().decode(output.stdout);
    assert.doesNotMatch(printed, /Deno requests|Allow\?/);
    assert.deepEqual(JSON.parse(printed.trim()), {
      read: "allowed",
      write: "NotCapable",
      sys: "NotCapable",
    });
    await assert.rejects(Deno.stat(target), Deno.errors.NotFound);
    await Deno.remove(dir, { recursive: true });
  },
});
