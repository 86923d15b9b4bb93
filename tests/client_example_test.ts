/**
 * The client library as its README shows it: the example block is run
 * exactly as written (extracted from README.md) against a server
 * subprocess that is restarted mid-way; `deno doc --lint` is clean on the
 * entry point; and a CA certificate served as the server's own (made with
 * `openssl req -x509`, as a new user would) is refused with advice.
 */
import assert from "node:assert/strict";
import { readLines } from "./support/lines.ts";
import { createCa } from "./support/certs.ts";
import {
  copyExamples,
  delay,
  editFile,
  runCli,
  spawnServer,
} from "./support/server.ts";

const ROOT = new URL("../", import.meta.url).pathname;
const unsanitized = { sanitizeOps: false, sanitizeResources: false };

/** The first ```ts block of the README's "Client library" section. */
async function readmeExample(): Promise<string> {
  const readme = await Deno.readTextFile(`${ROOT}README.md`);
  const section = readme.split("\n## Client library\n")[1];
  const block = /```ts\n([\s\S]*?)```/.exec(section ?? "");
  assert.ok(block, "README.md has a Client library section with a ts block");
  return block[1];
}

function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  listener.close();
  return port;
}

/** `deno run --allow-net ARGS` in `cwd`, its stdout lines collected. */
function startExample(args: string[], cwd?: string) {
  const example = new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-net", ...args],
    cwd,
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const printed: string[] = [];
  const reading = readLines(example.stdout, (line) => printed.push(line));
  const stderr = new Response(example.stderr).text();
  return { example, printed, reading, stderr };
}

Deno.test({
  name:
    "the README's example prints each persona that turns Degraded, across a server restart",
  ...unsanitized,
  async fn() {
    const dir = await copyExamples();
    const port = freePort();
    const serve = () =>
      spawnServer(["--source", dir, "--websocket-addr", `127.0.0.1:${port}`]);
    let server = await serve();
    const work = await Deno.makeTempDir({ prefix: "dorgu-ws-example-" });
    await Deno.writeTextFile(`${work}/degraded.ts`, await readmeExample());
    const { example, printed, reading, stderr } = startExample([
      "--config",
      `${ROOT}deno.json`,
      `${work}/degraded.ts`,
      `ws://127.0.0.1:${port}/ws`,
    ]);
    const until = async (count: number) => {
      const deadline = Date.now() + 20_000;
      while (printed.length < count) {
        if (Date.now() > deadline) {
          throw new Error(`Printed only: ${JSON.stringify(printed)}`);
        }
        await delay(50);
      }
    };
    try {
      await until(2);
      // A live change.
      await editFile(`${dir}/production/personas.yaml`, {
        from: "phase: Failed",
        to: "phase: Degraded",
      });
      await until(3);
      // The server goes away; a persona turns Degraded meanwhile; a new
      // process (a new epoch) cannot replay it, so the client re-lists.
      assert.equal((await server.stop()).code, 0);
      await editFile(`${dir}/production/personas.yaml`, {
        from: "phase: Active",
        to: "phase: Degraded",
      });
      await delay(300);
      server = await serve();
      await until(4);
      // And it follows the new process live.
      await editFile(`${dir}/staging/staging.json`, {
        from: '"phase": "Pending"',
        to: '"phase": "Degraded"',
      });
      await until(5);
      await delay(300);
      assert.deepEqual(printed, [
        "production/payment-gateway is Degraded",
        "staging/search-api is Degraded",
        "production/invoice-worker is Degraded",
        "production/order-service is Degraded",
        "staging/order-service is Degraded",
      ]);
    } finally {
      example.kill();
      await example.status;
      await reading;
      await stderr;
      await server.stop();
    }
  },
});

Deno.test({
  name:
    "the README's example runs from a project of one's own, with the import map the README gives",
  ...unsanitized,
  async fn() {
    const readme = await Deno.readTextFile(`${ROOT}README.md`);
    const section = readme.split("\n## Client library\n")[1] ?? "";
    const mapping = /`("imports": \{[^`]*\})`/.exec(section);
    assert.ok(mapping, "the Client library section shows an import map");
    const project = await Deno.makeTempDir({ prefix: "dorgu-ws-own-" });
    await Deno.writeTextFile(
      `${project}/deno.json`,
      `{${mapping[1].replaceAll("path/to/dorgu-ws/", ROOT)}}`,
    );
    await Deno.writeTextFile(`${project}/degraded.ts`, await readmeExample());
    const server = await spawnServer(["--source", await copyExamples()]);
    // No --config: the project's own deno.json is the one found.
    const { example, printed, reading, stderr } = startExample(
      ["degraded.ts", `ws://127.0.0.1:${server.port}/ws`],
      project,
    );
    const stop = () => {
      try {
        example.kill();
      } catch {
        // Already gone.
      }
    };
    try {
      const deadline = Date.now() + 20_000;
      while (printed.length < 2 && Date.now() < deadline) await delay(50);
      assert.deepEqual(printed, [
        "production/payment-gateway is Degraded",
        "staging/search-api is Degraded",
      ]);
    } catch (error) {
      stop();
      throw new Error(`${error}\nstderr: ${await stderr}`);
    } finally {
      stop();
      await example.status;
      await reading;
      await stderr;
      await server.stop();
    }
  },
});

Deno.test("deno doc --lint is clean on the client library's entry point", async () => {
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["doc", "--lint", "src/client/mod.ts"],
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(output.stderr) +
    new TextDecoder().decode(output.stdout);
  assert.ok(output.success, text);
  const config = JSON.parse(await Deno.readTextFile(`${ROOT}deno.json`));
  assert.deepEqual(config.exports, {
    ".": "./main.ts",
    "./client": "./src/client/mod.ts",
  });
});

Deno.test({
  name:
    "a CA certificate served as the server's own is refused with the steps to make a leaf certificate",
  ...unsanitized,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "dorgu-ws-ca-leaf-" });
    // What a new user does: one `openssl req -x509`, served as it is.
    const ca = await createCa(dir, "ca");
    const source = await copyExamples();
    const server = await spawnServer([
      "--source",
      source,
      "--tls-cert-file",
      ca.certFile,
      "--tls-private-key-file",
      `${dir}/ca.key`,
    ]);
    try {
      const url = `wss://127.0.0.1:${server.port}/ws`;
      const result = await runCli([
        "get",
        "personas",
        "--url",
        url,
        "--ca-file",
        ca.certFile,
      ]);
      assert.equal(result.code, 1);
      assert.equal(result.stdout, "");
      assert.match(
        result.stderr,
        /the server presents a CA certificate as its own .*'openssl req -x509'.*curl accepts that.*the server needs a leaf certificate signed by that CA/,
      );
      assert.match(result.stderr, /openssl req -newkey ec/);
      assert.match(result.stderr, /subjectAltName=IP:127\.0\.0\.1/);
      assert.match(
        result.stderr,
        /openssl x509 -req -in server\.csr -CA ca\.crt -CAkey ca\.key/,
      );
      assert.doesNotMatch(result.stderr, /^\s+at /m);
    } finally {
      await server.stop();
    }
  },
});
