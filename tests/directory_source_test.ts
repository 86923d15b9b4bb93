/**
 * The directory source (`serve --source DIR`): manifests read into the
 * store, edits turned into events, and bad files or a vanished directory
 * reported without losing what was read.
 */
import assert from "node:assert/strict";
import { Hub } from "../src/hub/mod.ts";
import {
  createState,
  DirectorySource,
  parseManifests,
} from "../src/sources/mod.ts";
import { captureLog, copyExamples, delay } from "./support/server.ts";

async function startSource(dir: string) {
  const hub = new Hub({ historySize: 1000 });
  const log = captureLog();
  const { store, queries } = createState(hub, { log: log.logger });
  const source = new DirectorySource(dir, store, {
    log: log.logger,
    pollMs: 30,
  });
  await source.start();
  return { hub, store, queries, source, log };
}

async function until<T>(read: () => T | undefined, what: string): Promise<T> {
  const deadline = Date.now() + 5000;
  while (Date.now() < deadline) {
    const value = read();
    if (value !== undefined) return value;
    await delay(20);
  }
  throw new Error(`Timed out waiting for ${what}`);
}

Deno.test("the example cluster loads completely and is ready", async () => {
  const dir = await copyExamples();
  const { store, queries, source, log } = await startSource(dir);
  try {
    assert.equal(store.readiness.ready, true);
    const counts = Object.fromEntries(
      [...store.stats()].map(([r, s]) => [r, s.objects]),
    );
    assert.deepEqual(counts, {
      personas: 6,
      clusters: 1,
      deployments: 6,
      events: 4,
    });
    assert.deepEqual(log.lines.filter((l) => l.level === "warn"), []);
    const phases = queries.personas({});
    assert.deepEqual(
      new Set(phases.map((p) => p.phase)),
      new Set(["Pending", "Active", "Degraded", "Failed"]),
    );
    assert.deepEqual(
      new Set(phases.map((p) => p.health)),
      new Set(["Healthy", "Degraded", "Unhealthy", "Unknown"]),
    );
  } finally {
    await source.stop();
  }
});

Deno.test("edits, new files and deletions become events", async () => {
  const dir = await copyExamples();
  const { hub, source } = await startSource(dir);
  const personas = () =>
    hub.recent("personas", { limit: 100 }) as unknown as {
      eventType: string;
      name: string;
      phase: string;
    }[];
  try {
    const file = `${dir}/production/personas.yaml`;
    const text = await Deno.readTextFile(file);
    await Deno.writeTextFile(
      file,
      text.replace("phase: Failed", "phase: Active"),
    );
    const updated = await until(
      () => personas().find((e) => e.name === "invoice-worker"),
      "the invoice-worker update",
    );
    assert.deepEqual([updated.eventType, updated.phase], ["updated", "Active"]);

    await Deno.writeTextFile(
      `${dir}/production/extra.yaml`,
      "apiVersion: dorgu.io/v1\nkind: ApplicationPersona\nmetadata: {name: extra, namespace: production}\nspec: {name: extra, type: api}\n",
    );
    await until(
      () =>
        personas().find((e) => e.name === "extra" && e.eventType === "created"),
      "extra created",
    );
    await Deno.remove(`${dir}/production/extra.yaml`);
    await until(
      () =>
        personas().find((e) => e.name === "extra" && e.eventType === "deleted"),
      "extra deleted",
    );
    await Deno.remove(`${dir}/staging`, { recursive: true });
    await until(
      () =>
        personas().filter((e) => e.eventType === "deleted").length === 3
          ? true
          : undefined,
      "the staging personas deleted",
    );
  } finally {
    await source.stop();
  }
});

Deno.test("a malformed file is logged with its path and reason; the rest keep working", async () => {
  const dir = await copyExamples();
  const { hub, store, source, log } = await startSource(dir);
  try {
    const broken = `${dir}/production/personas.yaml`;
    const good = await Deno.readTextFile(broken);
    await Deno.writeTextFile(broken, good + "\n---\nkind: [unclosed\n");
    const warning = await until(
      () =>
        log.lines.find((l) => l.msg === "Skipped a malformed manifest file"),
      "the warning",
    );
    assert.equal(warning.path, broken);
    assert.match(String(warning.reason), /^deficient indentation .*\(97:1\)$/);
    // Its objects were last read intact, so nothing was deleted.
    assert.equal(store.stats().get("personas")?.objects, 6);
    // Other files still produce events.
    const other = `${dir}/cluster.yaml`;
    await Deno.writeTextFile(
      other,
      (await Deno.readTextFile(other)).replace(
        "phase: Ready",
        "phase: Degraded",
      ),
    );
    await until(
      () => hub.recent("cluster", { limit: 10 }).length > 0 ? true : undefined,
      "the cluster update",
    );
    // A document that is YAML but not an object of the right shape names itself.
    await Deno.writeTextFile(
      broken,
      good +
        "\n---\napiVersion: dorgu.io/v1\nkind: ApplicationPersona\nmetadata: {namespace: x}\n",
    );
    const shapeWarning = await until(
      () =>
        log.lines.find((l) =>
          l.msg === "Skipped a malformed manifest file" &&
          String(l.reason).includes("document 5 (ApplicationPersona)")
        ),
      "the shape warning",
    );
    assert.match(String(shapeWarning.reason), /metadata\.name/);
    assert.equal(store.stats().get("personas")?.objects, 6);
  } finally {
    await source.stop();
  }
});

Deno.test("manifests: multi-document YAML, Lists and JSON; other kinds ignored", () => {
  const yaml = `
apiVersion: v1
kind: ConfigMap
metadata: {name: ignored}
---
apiVersion: v1
kind: List
items:
  - apiVersion: apps/v1
    kind: Deployment
    metadata: {name: d1, namespace: a}
  - apiVersion: dorgu.io/v1
    kind: ClusterPersona
    metadata: {name: c}
---
`;
  const parsed = parseManifests(yaml, "x.yaml");
  assert.deepEqual(parsed.map((m) => m.key), [
    "deployments/a/d1",
    "clusters/c",
  ]);
  const json = parseManifests(
    JSON.stringify({
      apiVersion: "v1",
      kind: "Event",
      metadata: { name: "e" },
    }),
    "x.json",
  );
  assert.deepEqual(json.map((m) => m.key), ["events/default/e"]);
  assert.throws(
    () => parseManifests("- a\n- b\n", "x.yaml"),
    /document 1 is not a Kubernetes object/,
  );
  assert.throws(() => parseManifests("{", "x.json"), SyntaxError);
});

Deno.test("a source directory that does not exist is a clear error", async () => {
  const hub = new Hub({ historySize: 8 });
  const source = new DirectorySource(
    "/nonexistent/dorgu",
    createState(hub).store,
  );
  await assert.rejects(
    source.start(),
    /Cannot read the source directory \/nonexistent\/dorgu/,
  );
});

Deno.test("a source directory that disappears keeps what was read, and says so", async () => {
  const dir = await copyExamples();
  const { store, source, log } = await startSource(dir);
  try {
    await Deno.remove(dir, { recursive: true });
    await until(
      () =>
        log.lines.find((l) =>
          l.msg === "Cannot list the source directory; keeping what was read" ||
          l.msg === "Stopped watching the source directory"
        ),
      "a warning about the directory",
    );
    assert.equal(store.stats().get("personas")?.objects, 6);
    assert.equal(store.readiness.ready, true);
  } finally {
    await source.stop();
  }
});
