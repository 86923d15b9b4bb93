/**
 * The directory source reads only what it should. Real files of every
 * hostile kind (a FIFO, a socket, symlinks to /dev/zero and to a FIFO, an
 * alias bomb, a file over the byte cap, a 1 MiB name, too many objects):
 * each is skipped with a log line naming its path and the reason, and a
 * real WebSocket client still receives every other event, in order. Run
 * as the binary runs, SIGTERM ends the server within 5 s with a FIFO in
 * the directory, and memory stays bounded.
 */
import assert from "node:assert/strict";
import { MAX_FILE_BYTES, MAX_OBJECTS_PER_FILE } from "../src/sources/mod.ts";
import {
  captureLog,
  copyExamples,
  delay,
  editFile,
  spawnServer,
  startTestServer,
} from "./support/server.ts";
import { type Message, TestClient } from "./support/ws_client.ts";

async function mkfifo(path: string): Promise<void> {
  const { code } = await new Deno.Command("mkfifo", { args: [path] })
    .output();
  assert.equal(code, 0, `mkfifo ${path}`);
}

const LONG_NAME = "a".repeat(1024 * 1024);

// Nested Lists through aliases: 10 x 10 x ... = a million objects from
// well under a kilobyte.
function aliasBomb(): string {
  let yaml =
    "apiVersion: v1\nkind: List\nx0: &a0 {apiVersion: dorgu.io/v1, kind: ApplicationPersona, metadata: {name: bomb, namespace: production}}\n";
  for (let i = 1; i <= 5; i++) {
    yaml += `x${i}: &a${i} {apiVersion: v1, kind: List, items: [${
      Array(10).fill(`*a${i - 1}`).join(",")
    }]}\n`;
  }
  return yaml + `items: [${Array(10).fill("*a5").join(",")}]\n`;
}

/** Writes the hostile files into `dir`; `outside` holds symlink targets. */
async function writeHostileFiles(dir: string, outside: string) {
  const bomb = aliasBomb();
  assert.ok(bomb.length < 1024, `the bomb is ${bomb.length} bytes`);
  await Deno.writeTextFile(`${dir}/bomb.yaml`, bomb);
  // Valid YAML (a comment) just over the cap.
  await Deno.writeTextFile(
    `${dir}/big.yaml`,
    `# ${"x".repeat(MAX_FILE_BYTES)}\n`,
  );
  await Deno.writeTextFile(
    `${dir}/long-name.yaml`,
    `apiVersion: dorgu.io/v1\nkind: ApplicationPersona\nmetadata: {name: ${LONG_NAME}, namespace: production}\nspec: {name: x}\n`,
  );
  const configMaps = Array.from(
    { length: MAX_OBJECTS_PER_FILE + 1 },
    (_, i) => `{apiVersion: v1, kind: ConfigMap, metadata: {name: c${i}}}`,
  );
  await Deno.writeTextFile(
    `${dir}/many.yaml`,
    `apiVersion: v1\nkind: List\nitems: [${configMaps.join(",")}]\n`,
  );
  await Deno.symlink("/dev/zero", `${dir}/zero.yaml`);
  await mkfifo(`${outside}/target-fifo`);
  await Deno.symlink(`${outside}/target-fifo`, `${dir}/fifo-link.yaml`);
  await mkfifo(`${dir}/late-fifo.yaml`);
}

/** The skip each hostile file must be logged with. */
const SKIPS: Record<string, RegExp> = {
  "fifo.yaml": /^it is a FIFO/,
  "socket.yaml": /^it is a socket$/,
  "zero.yaml": /^it is a character device$/,
  "fifo-link.yaml": /^it is a FIFO/,
  "late-fifo.yaml": /^it is a FIFO/,
  "bomb.yaml": /^it defines more than 10000 objects/,
  "big.yaml": /^it is larger than 4 MiB$/,
  "long-name.yaml":
    /^document 1 \(ApplicationPersona\): metadata\.name: must be at most 253 characters/,
  "many.yaml": /^it defines more than 10000 objects/,
};

/** Prepares a copy of the example cluster with a FIFO and a socket in it. */
async function hostileDirectory() {
  const dir = await copyExamples();
  const outside = await Deno.makeTempDir({ prefix: "dorgu-ws-outside-" });
  await mkfifo(`${dir}/fifo.yaml`);
  const socket = Deno.listen({ transport: "unix", path: `${dir}/socket.yaml` });
  return { dir, outside, socket };
}

function skipOf(
  lines: Record<string, unknown>[],
  dir: string,
  name: string,
): Record<string, unknown> | undefined {
  return lines.find((l) =>
    typeof l.msg === "string" && l.msg.startsWith("Skipped a") &&
    l.path === `${dir}/${name}`
  );
}

async function eventually<T>(
  read: () => T | undefined,
  what: string,
  timeoutMs = 10_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const value = read();
    if (value !== undefined) return value;
    await delay(25);
  }
  throw new Error(`Timed out waiting for ${what}`);
}

/** Three edits of one persona, each confirmed before the next. */
async function editInOrder(dir: string, client: TestClient): Promise<void> {
  const file = `${dir}/production/personas.yaml`;
  const steps: [string, string][] = [
    ["phase: Failed", "phase: Pending"],
    ["phase: Pending", "phase: Active"],
    ["status: Unhealthy", "status: Healthy"],
  ];
  for (const [i, [from, to]] of steps.entries()) {
    await editFile(file, { from, to });
    await client.waitForCount((m) => m.type === "event", i + 1, `edit ${i}`);
  }
  const events = client.events("personas");
  assert.deepEqual(
    events.map((e: Message) => [
      e.offset,
      e.payload?.name,
      e.payload?.phase,
      e.payload?.health,
    ]),
    [
      [1, "invoice-worker", "Pending", "Unhealthy"],
      [2, "invoice-worker", "Active", "Unhealthy"],
      [3, "invoice-worker", "Active", "Healthy"],
    ],
  );
}

Deno.test("hostile files are skipped with their path and reason; every other event arrives in order", async () => {
  const { dir, outside, socket } = await hostileDirectory();
  const log = captureLog();
  const server = await startTestServer({ source: dir }, { log: log.logger });
  await using _ = server;
  try {
    const client = await TestClient.connect(server.wsUrl);
    await client.call("subscribe", "personas");
    await writeHostileFiles(dir, outside);
    for (const [name, reason] of Object.entries(SKIPS)) {
      const line = await eventually(
        () => skipOf(log.lines, dir, name),
        `the skip of ${name}`,
      );
      assert.equal(line.level, "warn");
      assert.match(String(line.reason), reason, name);
    }
    await editInOrder(dir, client);
    // Nothing of the hostile files got in.
    const listed = await client.call("request", "personas");
    const names = (listed.payload?.personas as { name: string }[]).map((p) =>
      p.name
    );
    assert.equal(names.length, 6);
    assert.ok(!names.includes("bomb") && !names.includes(LONG_NAME));
    assert.equal(server.store.stats().get("personas")?.objects, 6);
    // Each is logged once, not on every scan.
    await delay(600);
    for (const name of Object.keys(SKIPS)) {
      const lines = log.lines.filter((l) => l.path === `${dir}/${name}`);
      assert.equal(lines.length, 1, `${name} logged ${lines.length} times`);
    }
    await client.close();
  } finally {
    socket.close();
  }
});

Deno.test("a file that breaks a limit keeps its last good objects until it is fixed", async () => {
  const dir = await copyExamples();
  const log = captureLog();
  const server = await startTestServer({ source: dir }, { log: log.logger });
  await using _ = server;
  const client = await TestClient.connect(server.wsUrl);
  await client.call("subscribe", "personas");
  const file = `${dir}/production/personas.yaml`;
  const good = await Deno.readTextFile(file);
  await Deno.writeTextFile(file, `${good}\n# ${"x".repeat(MAX_FILE_BYTES)}\n`);
  const tooBig = await eventually(
    () => skipOf(log.lines, dir, "production/personas.yaml"),
    "the skip",
  );
  assert.match(String(tooBig.reason), /larger than 4 MiB/);
  // The staging file becomes a FIFO: its objects stay too.
  await Deno.remove(`${dir}/staging/staging.json`);
  await mkfifo(`${dir}/staging/staging.json`);
  await eventually(
    () => skipOf(log.lines, dir, "staging/staging.json"),
    "the FIFO skip",
  );
  await delay(300);
  assert.equal(client.events("personas").length, 0);
  assert.equal(server.store.stats().get("personas")?.objects, 6);
  await Deno.writeTextFile(
    file,
    good.replace("phase: Failed", "phase: Active"),
  );
  const [event] = await client.waitForCount(
    (m) => m.type === "event",
    1,
    "the fixed file's event",
  );
  assert.deepEqual(
    [event.payload?.eventType, event.payload?.name, event.payload?.phase],
    ["updated", "invoice-worker", "Active"],
  );
  await client.close();
});

function rssKiB(pid: number): number {
  const status = Deno.readTextFileSync(`/proc/${pid}/status`);
  return Number(status.match(/^VmRSS:\s+(\d+) kB$/m)?.[1]);
}

Deno.test("as the binary runs: a FIFO never blocks it, memory stays bounded, SIGTERM exits within 5 s", async () => {
  const { dir, outside, socket } = await hostileDirectory();
  const server = await spawnServer(["--source", dir]);
  try {
    const ready = await fetch(`http://127.0.0.1:${server.port}/ready`);
    assert.equal(ready.status, 200, await ready.text());
    const client = await TestClient.connect(
      `ws://127.0.0.1:${server.port}/ws`,
    );
    await client.call("subscribe", "personas");
    const before = rssKiB(server.child.pid);
    await writeHostileFiles(dir, outside);
    for (const name of Object.keys(SKIPS)) {
      await server.waitForLog(
        (l) =>
          String(l.msg).startsWith("Skipped a") && l.path === `${dir}/${name}`,
      );
    }
    await editInOrder(dir, client);
    const after = rssKiB(server.child.pid);
    // Before the limits, the bomb alone cost ~250 MB and /dev/zero grew
    // without end; what remains is garbage the heap has not given back.
    assert.ok(
      after - before < 100 * 1024,
      `RSS grew from ${before} to ${after} KiB`,
    );
    await client.close();
    const started = Date.now();
    const status = await server.stop("SIGTERM");
    const took = Date.now() - started;
    assert.equal(status.code, 0);
    assert.ok(took < 5000, `SIGTERM took ${took} ms`);
  } finally {
    await server.stop("SIGKILL");
    socket.close();
  }
});
