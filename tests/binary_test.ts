/**
 * dorgu-ws run the way the compiled binary runs: `main.ts` with exactly the
 * compile task's permission flags, as a separate process.
 */
import assert from "node:assert/strict";
import manifest from "../deno.json" with { type: "json" };
import { RUNTIME_PERMISSIONS } from "../tools/permissions.ts";
import { copyExamples, delay, runCli, spawnServer } from "./support/server.ts";
import { TestClient } from "./support/ws_client.ts";

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

Deno.test("every flag has an environment variable", async () => {
  const dir = await copyExamples();
  const server = await spawnServer([], {
    env: {
      DORGU_WS_SOURCE: dir,
      DORGU_WS_HISTORY_SIZE: "7",
      DORGU_WS_WEBSOCKET_ADDR: "127.0.0.1:0",
    },
  });
  const metrics = await (await fetch(`http://127.0.0.1:${server.port}/metrics`))
    .text();
  assert.match(
    metrics,
    /^dorgu_ws_ring_buffer_capacity\{topic="personas"\} 7$/m,
  );
  assert.equal((await server.stop()).code, 0);
});

Deno.test("a bad flag or value exits 2 with one clear line", async () => {
  const cases: [string[], RegExp][] = [
    [
      ["serve", "--bogus"],
      /^dorgu-ws: unknown option '--bogus'; run 'dorgu-ws serve --help' for its flags\.$/,
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
      /^dorgu-ws: --auth has a bad value: "magic"/,
    ],
    [
      ["serve", "--auth", "token"],
      /^dorgu-ws: --auth token needs --token-file/,
    ],
    [["serve", "--allowed-origins", "not a url"], /is not an origin/],
    [
      ["serve", "--namespace", "Bad_NS"],
      /^dorgu-ws: --namespace has a bad value/,
    ],
    [["serve", "--enable-websocket=maybe"], /^dorgu-ws: /],
    [["serve", "extra"], /^dorgu-ws: unexpected argument 'extra'/],
    [["frobnicate"], /^dorgu-ws: unknown command 'frobnicate'/],
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
  assert.match(env.stderr, /--history-size must be a whole number/);
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
  assert.equal(version.stdout.trim(), `dorgu-ws ${manifest.version}`);
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
