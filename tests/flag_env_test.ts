/**
 * Every `dorgu-ws serve` flag has an environment variable, and each one
 * takes effect: the variables come from `serve --help`, and each has a
 * probe here that sets it alone and checks its effect from outside
 * (sockets, HTTP, what a fake Kubernetes API is asked), with a value whose
 * effect the default would not have. The server runs as a subprocess with
 * the compiled binary's permissions.
 */
import assert from "node:assert/strict";
import { clientFrame, concat, RawSocket } from "./support/raw_ws.ts";
import {
  binaryCommand,
  copyExamples,
  delay,
  DENO_DIR,
  runCli,
  spawnServer,
  waitReady,
} from "./support/server.ts";
import { TestClient } from "./support/ws_client.ts";
import { run } from "./tools/cache.ts";

const unsanitized = { sanitizeOps: false, sanitizeResources: false };

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

/** The test certificate and key written to files, for the TLS flags. */
async function tlsFiles(): Promise<
  { cert: string; files: { cert: string; key: string } }
> {
  const { cert, key } = await certificate();
  const dir = await Deno.makeTempDir({ prefix: "dorgu-ws-tls-flags-" });
  await Deno.writeTextFile(`${dir}/tls.crt`, cert);
  await Deno.writeTextFile(`${dir}/tls.key`, key);
  return { cert, files: { cert: `${dir}/tls.crt`, key: `${dir}/tls.key` } };
}

/** The server on `port` answers HTTPS with `cert`, and nothing on plain HTTP. */
async function assertServesTls(port: number, cert: string): Promise<void> {
  const client = Deno.createHttpClient({ caCerts: [cert] });
  try {
    const health = await fetch(`https://127.0.0.1:${port}/health`, { client });
    assert.equal(await health.text(), "ok\n");
  } finally {
    client.close();
  }
  await assert.rejects(() => fetch(`http://127.0.0.1:${port}/health`));
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
  async DORGU_WS_DASHBOARD({ examples }) {
    await serving(["--source", examples], {
      DORGU_WS_DASHBOARD: "false",
    }, async (port) => {
      const page = await fetch(`http://127.0.0.1:${port}/`);
      await page.body?.cancel();
      assert.equal(page.status, 404);
    });
  },
  async DORGU_WS_TLS_CERT_FILE({ examples }) {
    const { cert, files } = await tlsFiles();
    await serving(["--source", examples, "--tls-private-key-file", files.key], {
      DORGU_WS_TLS_CERT_FILE: files.cert,
    }, (port) => assertServesTls(port, cert));
  },
  async DORGU_WS_TLS_PRIVATE_KEY_FILE({ examples }) {
    const { cert, files } = await tlsFiles();
    await serving(["--source", examples, "--tls-cert-file", files.cert], {
      DORGU_WS_TLS_PRIVATE_KEY_FILE: files.key,
    }, (port) => assertServesTls(port, cert));
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
  async DORGU_WS_MAX_MESSAGE_FRAMES({ examples }) {
    await serving(["--source", examples], {
      DORGU_WS_MAX_MESSAGE_FRAMES: "3",
    }, async (port) => {
      // A message in four empty fragments: one past the limit.
      const { socket } = await RawSocket.connect(port);
      const fragment = (opcode: number, fin: boolean) =>
        clientFrame(opcode, new Uint8Array(0), { fin });
      await socket.write(concat(
        fragment(0x1, false),
        fragment(0x0, false),
        fragment(0x0, false),
        fragment(0x0, true),
      ));
      const { closeCode, reason } = await socket.drain();
      socket.close();
      assert.equal(closeCode, 1009, reason ?? "no reason");
      assert.match(reason ?? "", /more than 3 frames/);
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
