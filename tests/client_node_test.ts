/**
 * The client library on Node.js, the runtime on this machine (`node` on
 * PATH): bundled for Node as a user's build would, then run. From Node 22
 * on a request gets its answer; on older ones, which have no WebSocket,
 * the error says so and that retrying cannot help, instead of "WebSocket
 * is not defined" offered as a connection failure worth retrying.
 */
import assert from "node:assert/strict";
import { noPersonas, serveFake } from "./support/fake_server.ts";

const ROOT = new URL("../", import.meta.url).pathname;

const SCRIPT = `
import { Client } from "${ROOT}src/client/mod.ts";
const client = new Client(process.argv[2]);
try {
  const answer = await client.request("personas");
  console.log(JSON.stringify({ personas: answer.payload.personas.length }));
} catch (error) {
  console.log(JSON.stringify({
    name: error.name, message: error.message, retry: error.retry,
  }));
}
`;

async function run(command: string, args: string[]): Promise<string> {
  const output = await new Deno.Command(command, {
    args,
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(output.stdout);
  assert.ok(
    output.success,
    `${command} ${args[0]}: ${new TextDecoder().decode(output.stderr)}`,
  );
  return text;
}

Deno.test("the client library on this machine's Node.js: an answer from Node 22 on, a clear final error before", async () => {
  const dir = await Deno.makeTempDir();
  const server = serveFake(noPersonas);
  try {
    await Deno.writeTextFile(`${dir}/use.ts`, SCRIPT);
    await run(Deno.execPath(), [
      "bundle",
      "--quiet",
      "--platform",
      "node",
      "--format",
      "esm",
      "--external",
      "ws",
      "--output",
      `${dir}/use.mjs`,
      `${dir}/use.ts`,
    ]);
    const major = Number(
      (await run("node", ["--version"])).match(/^v(\d+)/)?.[1],
    );
    const said = JSON.parse(await run("node", [`${dir}/use.mjs`, server.url]));
    if (major >= 22) {
      assert.deepEqual(said, { personas: 0 });
      return;
    }
    assert.deepEqual(said, {
      name: "ConnectionError",
      message:
        `Cannot connect to ${server.url}: this runtime has no WebSocket (Node.js has one from version 22 on); run on Node.js 22 or later, Deno or a browser, or give the client dial: webSocketDialer(url, { create }) with a create that makes one (with the ws package: (url, init) => new WebSocket(url, init.protocols, { headers: init.headers })).`,
      retry: false,
    });
  } finally {
    await server.shutdown();
    await Deno.remove(dir, { recursive: true });
  }
});
