/**
 * The dorgu-ws command line, run as `main.ts` with exactly the compile
 * task's permission flags, as a separate process: serve's start and stop,
 * its one-line errors and exit codes, version and help, and the protocol
 * as the library speaks it.
 */
import assert from "node:assert/strict";
import manifest from "../deno.json" with { type: "json" };
import { RUNTIME_PERMISSIONS, V8_FLAGS_ARG } from "../tools/permissions.ts";
import {
  checkErrorCodes,
  checkMessageTypes,
} from "./support/protocol_check.ts";
import {
  copyExamples,
  delay,
  editFile,
  runCli,
  spawnServer,
} from "./support/server.ts";
import { TestClient } from "./support/ws_client.ts";

Deno.test("the demo and start tasks run with the binary's permissions and V8 flags", () => {
  for (const task of ["demo", "start"] as const) {
    const words = manifest.tasks[task].split(" ");
    const flags = words.slice(2, words.indexOf("main.ts"));
    assert.deepEqual(flags, [...RUNTIME_PERMISSIONS, V8_FLAGS_ARG], task);
  }
  for (
    const forbidden of ["-A", "--allow-all", "--allow-write", "--allow-sys"]
  ) {
    assert.ok(
      !RUNTIME_PERMISSIONS.some((p) => p.startsWith(forbidden)),
      forbidden,
    );
  }
  // FFI only ever for the C library's own file.
  const ffi = RUNTIME_PERMISSIONS.filter((p) => p.startsWith("--allow-ffi"));
  assert.equal(ffi.length, 1);
  for (const path of ffi[0].replace(/^--allow-ffi=/, "").split(",")) {
    assert.match(path, /^\/[a-z0-9_/-]+\/libc\.so\.6$/);
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
