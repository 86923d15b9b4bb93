/**
 * The dorgu-ws command line. The first tests run the real compiled binary
 * (built by tests/tools/compiled.ts from the current sources) from an empty
 * directory with an empty environment; the rest run `main.ts` with exactly
 * the compile task's permission flags, as a separate process.
 */
import assert from "node:assert/strict";
import manifest from "../deno.json" with { type: "json" };
import { RUNTIME_PERMISSIONS } from "../tools/permissions.ts";
import { persona } from "./support/cluster_objects.ts";
import { Envtest } from "./support/envtest.ts";
import { readLines } from "./support/lines.ts";
import {
  checkErrorCodes,
  checkMessageTypes,
} from "./support/protocol_check.ts";
import { RawSocket } from "./support/raw_ws.ts";
import {
  binaryCommand,
  copyExamples,
  delay,
  DENO_DIR,
  editFile,
  runCli,
  spawnServer,
  waitReady,
} from "./support/server.ts";
import { TestClient } from "./support/ws_client.ts";
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
      await waitReady(`http://127.0.0.1:${server.port}`);
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
      await eventually("watch's listing", () => watched.length > 0);
      assert.deepEqual(watched[0].type, "response");
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
    `compiled binary ${NAME}: exactly net, read, env and run; a write is refused without a prompt`,
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
      ffi: null,
      sys: null,
      prompt: false,
    });
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

Deno.test("the demo and start tasks run with the binary's permissions", () => {
  for (const task of ["demo", "start"] as const) {
    const words = manifest.tasks[task].split(" ");
    const flags = words.slice(2, words.indexOf("main.ts"));
    assert.deepEqual(flags, [...RUNTIME_PERMISSIONS], task);
  }
  for (
    const forbidden of ["-A", "--allow-all", "--allow-write", "--allow-ffi"]
  ) {
    assert.ok(
      !RUNTIME_PERMISSIONS.some((p) => p.startsWith(forbidden)),
      forbidden,
    );
  }
});

Deno.test("serve answers the seed's messages and stops on SIGTERM with 1001, exit 0", async () => {
  const dir = await copyExamples();
  const server = await spawnServer(["--source", dir]);
  const client = await TestClient.connect(`ws://127.0.0.1:${server.port}/ws`);
  const sub = await client.call("subscribe", "personas");
  assert.equal(sub.payload?.status, "subscribed");
  const cluster = await client.call("request", "cluster");
  assert.equal(cluster.payload?.name, "eu-west-prod");
  const started = Date.now();
  const status = server.stop("SIGTERM");
  const closed = await client.closed;
  assert.equal(closed.code, 1001);
  const { code } = await status;
  assert.equal(code, 0);
  assert.ok(Date.now() - started < 5000, "exited within 5 s");
  for (const line of server.logs) {
    assert.equal(typeof line, "object", `not a JSON log line: ${line}`);
    assert.ok(
      ["debug", "info", "warn", "error"].includes(
        (line as { level: string }).level,
      ),
    );
  }
  assert.ok(
    server.logs.some((l) => (l as { msg: string }).msg === "dorgu-ws stopped"),
  );
});

Deno.test("SIGTERM exits promptly even with a client that stopped reading", async () => {
  const dir = await copyExamples();
  const server = await spawnServer(["--source", dir]);
  const conn = await Deno.connect({ port: server.port });
  await conn.write(new TextEncoder().encode(
    "GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
      "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
  ));
  await delay(200);
  const started = Date.now();
  const { code } = await server.stop("SIGTERM");
  assert.equal(code, 0);
  assert.ok(Date.now() - started < 5000, `took ${Date.now() - started} ms`);
  conn.close();
});

function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

let apiCertificate: Promise<{ cert: string; key: string }> | undefined;

/** A self-signed certificate for 127.0.0.1, made once. */
function certificate(): Promise<{ cert: string; key: string }> {
  apiCertificate ??= (async () => {
    const dir = await Deno.makeTempDir({ prefix: "dorgu-ws-fake-api-" });
    await run("openssl", [
      "req",
      "-x509",
      "-newkey",
      "ec",
      "-pkeyopt",
      "ec_paramgen_curve:prime256v1",
      "-nodes",
      "-keyout",
      `${dir}/key.pem`,
      "-out",
      `${dir}/cert.pem`,
      "-days",
      "1",
      "-subj",
      "/CN=127.0.0.1",
      "-addext",
      "subjectAltName=IP:127.0.0.1",
      // rustls refuses a CA certificate as a server's own.
      "-addext",
      "basicConstraints=critical,CA:FALSE",
    ]);
    return {
      cert: await Deno.readTextFile(`${dir}/cert.pem`),
      key: await Deno.readTextFile(`${dir}/key.pem`),
    };
  })();
  return apiCertificate;
}

/**
 * A stand-in for the Kubernetes API on HTTPS: answers 503 to everything and
 * records each path asked for.
 */
async function fakeApi(): Promise<
  { url: string; ca: string; paths: string[]; stop(): Promise<void> }
> {
  const { cert, key } = await certificate();
  const paths: string[] = [];
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, cert, key, onListen() {} },
    (request) => {
      paths.push(new URL(request.url).pathname);
      return Response.json({ kind: "Status", code: 503 }, { status: 503 });
    },
  );
  return {
    url: `https://127.0.0.1:${server.addr.port}`,
    ca: cert,
    paths,
    stop: () => server.shutdown(),
  };
}

/** A kubeconfig with a context for each fake API, the first current. */
async function kubeconfig(
  apis: Record<string, { url: string; ca: string }>,
): Promise<string> {
  const path = await Deno.makeTempFile({ suffix: ".json" });
  const names = Object.keys(apis);
  await Deno.writeTextFile(
    path,
    JSON.stringify({
      apiVersion: "v1",
      kind: "Config",
      clusters: names.map((name) => ({
        name,
        cluster: {
          server: apis[name].url,
          "certificate-authority-data": btoa(apis[name].ca),
        },
      })),
      users: [{ name: "u", user: { token: "t" } }],
      contexts: names.map((name) => ({
        name,
        context: { cluster: name, user: "u" },
      })),
      "current-context": names[0],
    }),
  );
  return path;
}

async function eventually(
  what: string,
  check: () => Promise<boolean> | boolean,
  timeoutMs = 10_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) {
      throw new Error(`Timed out waiting for ${what}.`);
    }
    await delay(100);
  }
}

async function metrics(port: number): Promise<string> {
  return await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
}

/** What each probe gets: a copy of the example cluster and a token file. */
interface ProbeContext {
  examples: string;
  tokens: string;
}

async function serving(
  args: string[],
  env: Record<string, string>,
  check: (port: number) => Promise<void>,
): Promise<void> {
  const server = await spawnServer(args, { env });
  try {
    await check(server.port);
  } catch (error) {
    throw new Error(
      `${(error as Error).message}\ndorgu-ws logged:\n${
        server.logs.map((l) => JSON.stringify(l)).join("\n")
      }`,
      { cause: error },
    );
  } finally {
    await server.stop();
  }
}

/** A client that asks for `requests` MB of events and reads none of it. */
async function stalledClient(
  port: number,
  requests: number,
): Promise<RawSocket> {
  const { socket } = await RawSocket.connect(port);
  await socket.sendText(
    JSON.stringify({ type: "subscribe", topic: "events", requestId: "s" }),
  );
  for (let i = 0; i < requests; i++) {
    await socket.sendText(
      JSON.stringify({ type: "request", topic: "events", requestId: `r${i}` }),
    );
  }
  return socket;
}

/** Writes 250 Warning events of 4000 characters each, 1 MB, to `file`. */
async function writeBigEvents(file: string): Promise<void> {
  const prefix = file.split("/").pop();
  await Deno.writeTextFile(
    file,
    Array.from({ length: 250 }, (_, i) =>
      JSON.stringify({
        apiVersion: "v1",
        kind: "Event",
        metadata: { name: `${prefix}.${i}`, namespace: "shop" },
        involvedObject: { kind: "Pod", namespace: "shop", name: "p" },
        type: "Warning",
        reason: "Big",
        message: "x".repeat(4000),
        count: 1,
        lastTimestamp: "2026-03-23T09:57:30Z",
      })).join("\n---\n"),
  );
}

/**
 * A stalled client, then 250 new events at once: resolves once the server
 * has dropped some of them for it, or closed it for a full send buffer.
 * Under the default budgets (256 messages, 4 MiB) it would do neither.
 */
async function sendBufferOverflows(port: number, dir: string): Promise<void> {
  const socket = await stalledClient(port, 5);
  try {
    await delay(300);
    await writeBigEvents(`${dir}/more.yaml`);
    await eventually("events dropped or a close", async () => {
      const text = await metrics(port);
      return /^dorgu_ws_messages_dropped_total\{topic="events"\} [1-9]/m
        .test(text) ||
        /^dorgu_ws_connections_closed_total\{cause="send_buffer_full"\} 1$/m
          .test(text);
    });
  } finally {
    socket.close();
  }
}

/** A directory with the example cluster object and 1 MB of events. */
async function bigEvents(examples: string): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "dorgu-ws-big-" });
  await Deno.copyFile(`${examples}/cluster.yaml`, `${dir}/cluster.yaml`);
  await writeBigEvents(`${dir}/events.yaml`);
  return dir;
}

/** A connection that has sent part of an HTTP request head and stops. */
async function halfRequest(port: number): Promise<Deno.Conn> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  await conn.write(new TextEncoder().encode("GET /ws HTTP/1.1\r\n"));
  return conn;
}

/** Whether the server closes `conn` within `ms`. */
async function closedWithin(conn: Deno.Conn, ms: number): Promise<boolean> {
  const timer = setTimeout(() => conn.close(), ms);
  try {
    const read = await conn.read(new Uint8Array(1024)).catch(() => undefined);
    return read === null;
  } finally {
    clearTimeout(timer);
    try {
      conn.close();
    } catch {
      // Closed by the timer.
    }
  }
}

// Flags that let a client ask for as much as it likes.
const UNLIMITED = ["--rate-limit", "100000", "--rate-burst", "100000"];

/**
 * One probe per environment variable: each sets only that variable and
 * checks its effect from outside (sockets, HTTP, what the fake API is
 * asked), with a value whose effect the default would not have.
 */
const ENV_PROBES: Record<string, (context: ProbeContext) => Promise<void>> = {
  async DORGU_WS_WEBSOCKET_ADDR({ examples }) {
    const port = freePort();
    await serving(["--source", examples], {
      DORGU_WS_WEBSOCKET_ADDR: `127.0.0.1:${port}`,
    }, async (listening) => {
      assert.equal(listening, port);
      const health = await fetch(`http://127.0.0.1:${port}/health`);
      assert.equal(await health.text(), "ok\n");
    });
  },
  async DORGU_WS_ENABLE_WEBSOCKET({ examples }) {
    await serving(["--source", examples], {
      DORGU_WS_ENABLE_WEBSOCKET: "false",
    }, async (port) => {
      const ws = await fetch(`http://127.0.0.1:${port}/ws`);
      await ws.body?.cancel();
      assert.equal(ws.status, 404);
    });
  },
  async DORGU_WS_SOURCE({ examples }) {
    await serving([], { DORGU_WS_SOURCE: examples }, async (port) => {
      const client = await TestClient.connect(`ws://127.0.0.1:${port}/ws`);
      const cluster = await client.call("request", "cluster");
      assert.equal(cluster.payload?.name, "eu-west-prod");
      await client.close();
    });
  },
  async KUBECONFIG() {
    const api = await fakeApi();
    const config = await kubeconfig({ only: api });
    await serving([], { KUBECONFIG: config }, async () => {
      await eventually("a request to the API", () => api.paths.length > 0);
    });
    await api.stop();
  },
  async DORGU_WS_KUBECONFIG() {
    const api = await fakeApi();
    const config = await kubeconfig({ only: api });
    await serving([], { DORGU_WS_KUBECONFIG: config }, async () => {
      await eventually("a request to the API", () => api.paths.length > 0);
    });
    await api.stop();
  },
  async DORGU_WS_CONTEXT() {
    const first = await fakeApi();
    const second = await fakeApi();
    const config = await kubeconfig({ first, second });
    await serving(["--kubeconfig", config], {
      DORGU_WS_CONTEXT: "second",
    }, async () => {
      await eventually(
        "a request to the second context's API",
        () => second.paths.length > 0,
      );
      assert.deepEqual(first.paths, []);
    });
    await first.stop();
    await second.stop();
  },
  async DORGU_WS_NAMESPACE() {
    const api = await fakeApi();
    const config = await kubeconfig({ only: api });
    await serving(["--kubeconfig", config], {
      DORGU_WS_NAMESPACE: "shop",
    }, async () => {
      const personas = () =>
        api.paths.filter((p) => p.endsWith("/applicationpersonas"));
      await eventually("a list of personas", () => personas().length > 0);
      assert.deepEqual(
        new Set(personas()),
        new Set([
          "/apis/dorgu.io/v1/namespaces/shop/applicationpersonas",
        ]),
      );
    });
    await api.stop();
  },
  async DORGU_WS_HISTORY_SIZE({ examples }) {
    await serving(["--source", examples], {
      DORGU_WS_HISTORY_SIZE: "7",
    }, async (port) => {
      assert.match(
        await metrics(port),
        /^dorgu_ws_ring_buffer_capacity\{topic="personas"\} 7$/m,
      );
    });
  },
  async DORGU_WS_ALLOWED_ORIGINS({ examples }) {
    await serving(["--source", examples], {
      DORGU_WS_ALLOWED_ORIGINS: "https://ops.example.com",
    }, async (port) => {
      const from = (origin: string) =>
        RawSocket.upgradeStatus(port, { origin });
      assert.equal(await from("https://ops.example.com"), 101);
      assert.equal(await from("https://other.example.com"), 403);
    });
  },
  async DORGU_WS_ALLOWED_HOSTS({ examples }) {
    await serving(["--source", examples], {
      DORGU_WS_ALLOWED_HOSTS: "dorgu.example.com",
    }, async (port) => {
      const as = (host: string) => RawSocket.upgradeStatus(port, { host });
      assert.equal(await as("dorgu.example.com"), 101);
      assert.equal(await as("other.example.com"), 421);
    });
  },
  async DORGU_WS_AUTH({ examples, tokens }) {
    await serving(["--source", examples, "--token-file", tokens], {
      DORGU_WS_AUTH: "token",
    }, async (port) => {
      assert.equal(await RawSocket.upgradeStatus(port), 401);
      assert.equal(
        await RawSocket.upgradeStatus(port, { authorization: "Bearer t1" }),
        101,
      );
    });
  },
  async DORGU_WS_TOKEN_FILE({ examples, tokens }) {
    await serving(["--source", examples, "--auth", "token"], {
      DORGU_WS_TOKEN_FILE: tokens,
    }, async (port) => {
      assert.equal(
        await RawSocket.upgradeStatus(port, { authorization: "Bearer t1" }),
        101,
      );
      assert.equal(
        await RawSocket.upgradeStatus(port, { authorization: "Bearer t2" }),
        401,
      );
    });
  },
  async DORGU_WS_MAX_CONNECTIONS({ examples }) {
    await serving(["--source", examples], {
      DORGU_WS_MAX_CONNECTIONS: "1",
    }, async (port) => {
      const first = await TestClient.connect(`ws://127.0.0.1:${port}/ws`);
      assert.equal(await RawSocket.upgradeStatus(port), 503);
      await first.close();
    });
  },
  async DORGU_WS_MAX_PENDING_CONNECTIONS({ examples }) {
    await serving(["--source", examples], {
      DORGU_WS_MAX_PENDING_CONNECTIONS: "1",
    }, async (port) => {
      // Two clients that start a request and never finish it: the second
      // pushes the first out at once (by default both would wait 10 s).
      const first = await halfRequest(port);
      const second = await halfRequest(port);
      assert.ok(await closedWithin(first, 3000), "the first was closed");
      second.close();
    });
  },
  async DORGU_WS_HEADER_TIMEOUT({ examples }) {
    await serving(["--source", examples], {
      DORGU_WS_HEADER_TIMEOUT: "1s",
    }, async (port) => {
      const slow = await halfRequest(port);
      assert.ok(
        await closedWithin(slow, 5000),
        "closed before the default 10 s",
      );
    });
  },
  async DORGU_WS_RATE_LIMIT({ examples }) {
    // One token at a time; refilled at 20 a second by default, so a
    // request every 100 ms would never be refused.
    await serving(["--source", examples, "--rate-burst", "1"], {
      DORGU_WS_RATE_LIMIT: "1",
    }, async (port) => {
      const client = await TestClient.connect(`ws://127.0.0.1:${port}/ws`);
      let limited = 0;
      for (let i = 0; i < 5; i++) {
        const reply = await client.call("request", "cluster");
        if (reply.payload?.code === "rate_limited") limited++;
        await delay(100);
      }
      await client.close();
      assert.ok(limited >= 3, `${limited} of 5 refused`);
    });
  },
  async DORGU_WS_RATE_BURST({ examples }) {
    await serving(["--source", examples], {
      DORGU_WS_RATE_BURST: "2",
    }, async (port) => {
      const client = await TestClient.connect(`ws://127.0.0.1:${port}/ws`);
      const replies = await Promise.all(
        Array.from({ length: 5 }, () => client.call("request", "cluster")),
      );
      await client.close();
      const limited = replies.filter((r) => r.payload?.code === "rate_limited");
      assert.ok(limited.length >= 2, `${limited.length} of 5 refused`);
    });
  },
  async DORGU_WS_SEND_BUFFER({ examples }) {
    const dir = await bigEvents(examples);
    await serving(["--source", dir, ...UNLIMITED, "--write-timeout", "1h"], {
      DORGU_WS_SEND_BUFFER: "1",
    }, (port) => sendBufferOverflows(port, dir));
  },
  async DORGU_WS_SEND_BUFFER_BYTES({ examples }) {
    const dir = await bigEvents(examples);
    await serving(["--source", dir, ...UNLIMITED, "--write-timeout", "1h"], {
      DORGU_WS_SEND_BUFFER_BYTES: "64KiB",
    }, (port) => sendBufferOverflows(port, dir));
  },
  async DORGU_WS_WRITE_TIMEOUT({ examples }) {
    await serving(["--source", await bigEvents(examples), ...UNLIMITED], {
      DORGU_WS_WRITE_TIMEOUT: "1s",
    }, async (port) => {
      // Closed well before the default 10 s.
      const socket = await stalledClient(port, 30);
      await eventually(
        "a close for the write timeout",
        async () =>
          /^dorgu_ws_connections_closed_total\{cause="write_timeout"\} 1$/m
            .test(await metrics(port)),
        8000,
      );
      socket.close();
    });
  },
  async DORGU_WS_READ_TIMEOUT({ examples }) {
    await serving(["--source", examples], {
      DORGU_WS_READ_TIMEOUT: "1s",
    }, async (port) => {
      // A client that never answers the server's pings; the default is 60 s.
      const { socket } = await RawSocket.connect(port);
      const started = Date.now();
      const { closeCode } = await socket.drain();
      socket.close();
      assert.equal(closeCode, 1001);
      assert.ok(
        Date.now() - started < 8000,
        `after ${Date.now() - started} ms`,
      );
    });
  },
  async DORGU_WS_MAX_MESSAGE_SIZE({ examples }) {
    await serving(["--source", examples], {
      DORGU_WS_MAX_MESSAGE_SIZE: "1KiB",
    }, async (port) => {
      const { socket } = await RawSocket.connect(port);
      await socket.sendText(
        JSON.stringify({
          type: "request",
          topic: "cluster",
          pad: "x".repeat(2000),
        }),
      );
      const { closeCode } = await socket.drain();
      socket.close();
      assert.equal(closeCode, 1009);
    });
  },
  async DORGU_WS_MESSAGE_TIMEOUT({ examples }) {
    await serving(["--source", examples], {
      DORGU_WS_MESSAGE_TIMEOUT: "1s",
    }, async (port) => {
      // A text frame announcing 100 bytes, masked, with 10 of them sent.
      const { socket } = await RawSocket.connect(port);
      await socket.sendRaw(
        new Uint8Array([0x81, 0x80 | 100, 1, 2, 3, 4, ...new Uint8Array(10)]),
      );
      const started = Date.now();
      const { closeCode, reason } = await socket.drain();
      socket.close();
      assert.equal(closeCode, 1008, reason ?? "no reason");
      assert.ok(
        Date.now() - started < 5000,
        `after ${Date.now() - started} ms`,
      );
    });
  },
  async DORGU_WS_LOG_LEVEL({ examples }) {
    // At warn, the info lines of a quiet start and stop are not written.
    const port = freePort();
    const child = new Deno.Command(Deno.execPath(), {
      args: binaryCommand([
        "serve",
        "--source",
        examples,
        "--websocket-addr",
        `127.0.0.1:${port}`,
      ]),
      env: { DENO_DIR, DORGU_WS_LOG_LEVEL: "warn" },
      stdout: "null",
      stderr: "piped",
    }).spawn();
    const stderr = new Response(child.stderr).text();
    try {
      await waitReady(`http://127.0.0.1:${port}`);
    } finally {
      child.kill("SIGTERM");
    }
    assert.equal((await child.status).code, 0);
    assert.equal(await stderr, "");
  },
};

Deno.test({
  name:
    "every serve flag has an environment variable, and each one takes effect",
  ...unsanitized,
  async fn(t) {
    const help = await runCli(["serve", "--help"]);
    const variables: string[] = [];
    for (const row of help.stdout.split("\n")) {
      const flag = /^ +(?:-\w, )?--([a-z-]+)/.exec(row)?.[1];
      if (!flag || flag === "help") continue;
      // The variable every Kubernetes client reads, besides dorgu-ws's own.
      if (flag === "kubeconfig") variables.push("KUBECONFIG");
      const variable = /env (DORGU_WS_\w+)\)$/.exec(row)?.[1];
      assert.equal(
        variable,
        `DORGU_WS_${flag.toUpperCase().replaceAll("-", "_")}`,
        `--${flag} has no environment variable: ${row}`,
      );
      variables.push(variable!);
    }
    assert.ok(variables.length >= 17, help.stdout);
    assert.deepEqual(
      Object.keys(ENV_PROBES).sort(),
      [...variables].sort(),
      "every variable the help lists has a probe here, and no other",
    );
    const examples = await copyExamples();
    const tokens = await Deno.makeTempFile();
    await Deno.writeTextFile(tokens, "t1,ops\n");
    for (const variable of variables) {
      await t.step(
        variable,
        () => ENV_PROBES[variable]({ examples, tokens }),
      );
    }
  },
});

Deno.test("a bad flag or value exits 2 with one clear line", async () => {
  const cases: [string[], RegExp][] = [
    [
      ["serve", "--bogus"],
      /^dorgu-ws: Unknown flag '--bogus'; run 'dorgu-ws serve --help' for its flags\.$/,
    ],
    [
      ["serve", "--websocket-addr", "nine"],
      /^dorgu-ws: --websocket-addr must look like :9090/,
    ],
    [
      ["serve", "--websocket-addr", ":70000"],
      /^dorgu-ws: --websocket-addr must look like/,
    ],
    [
      ["serve", "--history-size", "0"],
      /^dorgu-ws: --history-size must be a whole number from 1 to 1000000, got '0'\.$/,
    ],
    [
      ["serve", "--write-timeout", "soon"],
      /^dorgu-ws: --write-timeout must be a duration/,
    ],
    [
      ["serve", "--max-message-size", "big"],
      /^dorgu-ws: --max-message-size must be a size/,
    ],
    [
      ["serve", "--auth", "magic"],
      /^dorgu-ws: --auth must be none, token or kubernetes, got 'magic'\.$/,
    ],
    [
      ["serve", "--auth", "token"],
      /^dorgu-ws: --auth token needs --token-file/,
    ],
    [["serve", "--allowed-origins", "not a url"], /is not an origin/],
    [
      ["serve", "--namespace", "Bad_NS"],
      /^dorgu-ws: --namespace: 'Bad_NS' is not a namespace name/,
    ],
    [
      ["serve", "--enable-websocket=maybe"],
      /^dorgu-ws: --enable-websocket must be true or false, got 'maybe'\.$/,
    ],
    [["serve", "extra"], /^dorgu-ws: Unexpected argument 'extra'/],
    [["frobnicate"], /^dorgu-ws: Unknown command 'frobnicate'/],
  ];
  for (const [args, pattern] of cases) {
    const { code, stderr } = await runCli(args);
    assert.equal(code, 2, `${args.join(" ")}: ${stderr}`);
    const lines = stderr.trim().split("\n");
    assert.equal(lines.length, 1, `${args.join(" ")} printed ${stderr}`);
    assert.match(lines[0], pattern);
  }
  const env = await runCli(["serve"], {
    env: { DORGU_WS_HISTORY_SIZE: "lots" },
  });
  assert.equal(env.code, 2);
  assert.match(
    env.stderr,
    /^dorgu-ws: DORGU_WS_HISTORY_SIZE must be a whole number from 1 to 1000000, got 'lots'\.\n$/,
  );
});

Deno.test("a port already in use and a missing source exit 1 with one clear line", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  const dir = await copyExamples();
  const busy = await runCli([
    "serve",
    "--source",
    dir,
    "--websocket-addr",
    `127.0.0.1:${port}`,
  ]);
  listener.close();
  assert.equal(busy.code, 1);
  assert.match(
    busy.stderr.trim().split("\n").at(-1) ?? "",
    new RegExp(
      `^dorgu-ws: Cannot listen on port ${port}: it is already in use`,
    ),
  );
  const missing = await runCli([
    "serve",
    "--source",
    "/no/such/dir",
    "--websocket-addr",
    "127.0.0.1:0",
  ]);
  assert.equal(missing.code, 1);
  assert.match(
    missing.stderr,
    /^dorgu-ws: Cannot read the source directory \/no\/such\/dir/m,
  );
});

Deno.test("version and help", async () => {
  const version = await runCli(["version"]);
  assert.equal(version.code, 0);
  assert.match(
    version.stdout,
    new RegExp(`^Client Version: ${manifest.version.replaceAll(".", "\\.")} `),
  );
  const help = await runCli(["serve", "--help"]);
  assert.equal(help.code, 0);
  for (
    const flag of [
      "--websocket-addr",
      "--enable-websocket",
      "--source",
      "DORGU_WS_HISTORY_SIZE",
    ]
  ) {
    assert.ok(help.stdout.includes(flag), flag);
  }
});

Deno.test("the binary answers every message type and error code like the library", async () => {
  const dir = await copyExamples();
  const server = await spawnServer(["--source", dir]);
  try {
    const url = `ws://127.0.0.1:${server.port}/ws`;
    await checkMessageTypes(
      url,
      () =>
        editFile(`${dir}/production/personas.yaml`, {
          from: "phase: Failed",
          to: "phase: Active",
        }),
    );
    await checkErrorCodes(url);
  } finally {
    await server.stop();
  }
});

Deno.test("--enable-websocket=false keeps health, readiness and metrics, and refuses /ws", async () => {
  const dir = await copyExamples();
  const server = await spawnServer([
    "--source",
    dir,
    "--enable-websocket=false",
  ]);
  try {
    const base = `http://127.0.0.1:${server.port}`;
    const ws = await fetch(`${base}/ws`);
    assert.equal(ws.status, 404);
    assert.match(await ws.text(), /WebSockets are disabled on this server/);
    for (const path of ["/health", "/ready", "/metrics"]) {
      const response = await fetch(`${base}${path}`);
      assert.equal(response.status, 200, path);
      await response.body?.cancel();
    }
  } finally {
    await server.stop();
  }
});

Deno.test("a malformed token file stops start-up with the line that is wrong", async () => {
  const tokens = await Deno.makeTempFile();
  await Deno.writeTextFile(tokens, "# tokens\ngood,user\nno-user-here\n");
  const dir = await copyExamples();
  const result = await runCli([
    "serve",
    "--source",
    dir,
    "--auth",
    "token",
    "--token-file",
    tokens,
    "--websocket-addr",
    "127.0.0.1:0",
  ]);
  assert.equal(result.code, 1);
  assert.equal(
    result.stderr.trim(),
    `dorgu-ws: ${tokens}:3: expected 'token,user[,namespaces]'.`,
  );
});
