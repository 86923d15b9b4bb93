/**
 * Files the service reads but does not control (the TLS pair and token
 * file it re-reads while serving, the client's config): only regular
 * files, bounded in bytes and time, whatever the path turns into.
 */
import assert from "node:assert/strict";
import { FileRefused, readBoundedFile } from "../src/files.ts";
import {
  captureLog,
  copyExamples,
  delay,
  runCli,
  startTestServer,
} from "./support/server.ts";
import { RawSocket } from "./support/raw_ws.ts";

async function mkfifo(path: string): Promise<void> {
  const status = await new Deno.Command("mkfifo", { args: [path] }).output();
  assert.ok(status.success, "mkfifo failed");
}

Deno.test("bounded reads: regular files only, capped, never blocked by a FIFO", async () => {
  const dir = await Deno.makeTempDir();
  await Deno.writeTextFile(`${dir}/small`, "hello");
  await Deno.writeTextFile(`${dir}/big`, "x".repeat(2048));
  await mkfifo(`${dir}/fifo`);
  await Deno.symlink("/dev/zero", `${dir}/zero`);
  await Deno.symlink(`${dir}/fifo`, `${dir}/fifo-link`);
  const read = (name: string) =>
    readBoundedFile(`${dir}/${name}`, { maxBytes: 1024, timeoutMs: 2000 });
  assert.equal(new TextDecoder().decode(await read("small")), "hello");
  const started = performance.now();
  for (
    const [name, reason] of [
      ["big", /^it is larger than 1 KiB$/],
      ["fifo", /^it is a FIFO/],
      ["fifo-link", /^it is a FIFO/],
      ["zero", /^it is a character device$/],
    ] as const
  ) {
    await assert.rejects(read(name), (error: Error) => {
      assert.ok(error instanceof FileRefused, name);
      assert.match(error.message, reason, name);
      return true;
    });
  }
  assert.ok(performance.now() - started < 1500, "refused without waiting");
  await assert.rejects(read("missing"), Deno.errors.NotFound);
});

Deno.test("a TLS file that is a device fails the start with one line", async () => {
  const key = await Deno.makeTempFile();
  const result = await runCli([
    "serve",
    "--source",
    "demo",
    "--websocket-addr",
    "127.0.0.1:0",
    "--tls-cert-file",
    "/dev/zero",
    "--tls-private-key-file",
    key,
  ], { timeoutMs: 10_000 });
  assert.equal(result.code, 1, result.stderr);
  assert.match(
    result.stderr,
    /--tls-cert-file \/dev\/zero: it is a character device/,
  );
  assert.equal(result.stderr.trim().split("\n").length, 1, result.stderr);
});

Deno.test("a token file that becomes a FIFO keeps the last good tokens", async () => {
  const dir = await copyExamples();
  const tokenFile = `${await Deno.makeTempDir()}/tokens`;
  await Deno.writeTextFile(tokenFile, "first,ops\n");
  const log = captureLog();
  const server = await startTestServer(
    { source: dir, auth: "token", tokenFile },
    { log: log.logger },
  );
  await using _ = server;
  const status = (token: string) =>
    RawSocket.upgradeStatus(server.port, { authorization: `Bearer ${token}` });
  assert.equal(await status("first"), 101);
  await Deno.remove(tokenFile);
  await mkfifo(tokenFile);
  await delay(2100);
  const started = performance.now();
  assert.equal(await status("first"), 101);
  assert.ok(performance.now() - started < 1000, "the reload did not block");
  assert.ok(
    log.lines.some((l) =>
      l.msg === "Cannot reload the token file; keeping the last good one" &&
      /FIFO/.test(String(l.error))
    ),
  );
});

Deno.test("a client config file that is a FIFO is one line, not a hang", async () => {
  const home = await Deno.makeTempDir();
  await Deno.mkdir(`${home}/dorgu-ws`);
  await mkfifo(`${home}/dorgu-ws/config.yaml`);
  const result = await runCli(["get", "personas"], {
    env: { XDG_CONFIG_HOME: home },
    timeoutMs: 10_000,
  });
  assert.equal(result.code, 2, result.stderr);
  assert.match(result.stderr, /config\.yaml: it is a FIFO/);
});
