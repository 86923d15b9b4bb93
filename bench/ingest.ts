/**
 * Watch ingest and cache memory, in one process (run with
 * `--v8-flags=--expose-gc`; prints one `result {json}` line):
 *
 * - ingest: a real Informer reading a watch stream of realistic
 *   ApplicationPersona objects from a local HTTP server, through the
 *   NDJSON decoder, projection, diff and publish (with one subscriber).
 * - memory: the heap a Store needs per cached persona.
 *
 * @module
 */
import { Hub, Session } from "../src/hub/mod.ts";
import { Informer } from "../src/kube/mod.ts";
import { plainKubeClient } from "../tests/support/kube_client.ts";
import { createLogger } from "../src/log.ts";
import { createState } from "../src/sources/mod.ts";

const PHASES = ["Active", "Degraded", "Failed", "Pending"];

/** A persona about as large as the operator's: full spec, validation, conditions. */
export function realisticPersona(
  i: number,
  version: number,
): Record<string, unknown> {
  const name = `app-${String(i).padStart(5, "0")}`;
  return {
    apiVersion: "dorgu.io/v1",
    kind: "ApplicationPersona",
    metadata: {
      name,
      namespace: `team-${i % 40}`,
      uid: crypto.randomUUID(),
      resourceVersion: String(version),
      generation: 3,
      creationTimestamp: "2026-03-01T09:00:00Z",
      labels: {
        "app.kubernetes.io/name": name,
        "dorgu.io/team": `team-${i % 40}`,
      },
    },
    spec: {
      name,
      version: "2.4.1",
      type: ["api", "web", "worker"][i % 3],
      tier: ["critical", "frontend", "standard"][i % 3],
      technical: {
        language: "go",
        framework: "gin",
        description: "Handles orders end to end",
      },
      resources: {
        requests: { cpu: "250m", memory: "256Mi" },
        limits: { cpu: "1", memory: "512Mi" },
        profile: "balanced",
      },
      scaling: {
        minReplicas: 2,
        maxReplicas: 10,
        targetCPU: 70,
        targetMemory: 80,
      },
      health: { livenessPath: "/healthz", readinessPath: "/ready", port: 8080 },
      dependencies: [
        { name: "postgres", type: "database", required: true },
        { name: "redis", type: "cache", required: false },
      ],
      networking: {
        ports: [{ port: 8080, protocol: "TCP", purpose: "http" }],
        ingress: {
          enabled: true,
          host: `${name}.example.com`,
          paths: ["/"],
          tlsEnabled: true,
        },
      },
      ownership: {
        team: `team-${i % 40}`,
        owner: "jane@example.com",
        repository: "github.com/acme/app",
      },
    },
    status: {
      phase: PHASES[(i + version) % PHASES.length],
      health: {
        status: "Healthy",
        lastCheck: new Date().toISOString(),
        message: "all probes passing",
      },
      validation: {
        passed: i % 5 !== 0,
        lastChecked: new Date().toISOString(),
        issues: i % 5 === 0
          ? [{
            severity: "warning",
            field: "spec.resources",
            message: "memory limit close to usage",
            suggestion: "raise it",
          }]
          : [],
      },
      lastUpdated: new Date().toISOString(),
      conditions: [
        {
          type: "Ready",
          status: "True",
          reason: "Reconciled",
          lastTransitionTime: "2026-03-01T09:00:00Z",
        },
      ],
    },
  };
}

async function ingest(objects: number, personas: number): Promise<number> {
  const encoder = new TextEncoder();
  const lines: string[] = [];
  for (let n = 0; n < objects; n++) {
    lines.push(
      JSON.stringify({
        type: "MODIFIED",
        object: realisticPersona(n % personas, 100 + n),
      }),
    );
  }
  const body = encoder.encode(lines.join("\n") + "\n");
  const list = JSON.stringify({
    metadata: { resourceVersion: "99" },
    items: Array.from({ length: personas }, (_, i) => realisticPersona(i, 1)),
  });
  let streamed: () => void = () => {};
  const done = new Promise<void>((resolve) => streamed = resolve);
  const server = Deno.serve({
    hostname: "127.0.0.1",
    port: 0,
    onListen: () => {},
  }, (req) => {
    if (!new URL(req.url).searchParams.has("watch")) return new Response(list);
    return new Response(body);
  });
  const hub = new Hub({ historySize: 1024 });
  const session = new Session({ send: () => "queued" }, {
    scope: { allows: () => true },
  });
  hub.attach(session);
  hub.subscribe(session, "personas", { filter: {} });
  const { store } = createState(hub, {
    resources: ["personas"],
    log: createLogger({ level: "error" }),
  });
  let seen = 0;
  let started = 0;
  let finished = 0;
  const client = plainKubeClient(
    `http://127.0.0.1:${server.addr.port}`,
    "bench",
  );
  const informer = new Informer({
    client,
    path: "/apis/dorgu.io/v1/applicationpersonas",
    label: "bench",
    log: createLogger({ level: "error" }),
    target: {
      resync: () => {
        const listing = store.resync("personas");
        return {
          add: (o) => listing.add(o),
          commit: () => {
            listing.commit();
            started = performance.now();
          },
        };
      },
      upsert: (object) => {
        store.upsert("personas", object);
        if (++seen === objects) {
          finished = performance.now();
          streamed();
        }
      },
      remove: (object) => store.remove("personas", object),
      problem: () => {},
    },
  });
  informer.start();
  await done;
  await informer.stop();
  client.close();
  await server.shutdown();
  return objects / ((finished - started) / 1000);
}

function memoryPerPersona(count: number): number {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new Error("Run with --v8-flags=--expose-gc.");
  const hub = new Hub({ historySize: 1024 });
  const log = createLogger({ level: "error" });
  // Warm up: the first projections compile schemas and code.
  const warm = createState(new Hub({ historySize: 8 }), { log }).store.resync(
    "personas",
  );
  for (let i = 0; i < 100; i++) warm.add(realisticPersona(i, 1));
  warm.commit();
  const { store } = createState(hub, { log });
  const objects = Array.from(
    { length: count },
    (_, i) => JSON.stringify(realisticPersona(i, 1)),
  );
  gc();
  const before = Deno.memoryUsage().heapUsed;
  const listing = store.resync("personas");
  for (const text of objects) listing.add(JSON.parse(text));
  listing.commit();
  gc();
  const after = Deno.memoryUsage().heapUsed;
  // The raw objects stay referenced until here, so only the cache is counted.
  if (store.stats().get("personas")?.objects !== objects.length) {
    throw new Error("Not all personas cached.");
  }
  return (after - before) / count;
}

if (import.meta.main) {
  const objects = Number(Deno.args[0] ?? 50_000);
  const personas = Number(Deno.args[1] ?? 1_000);
  const memory = memoryPerPersona(10_000);
  const rate = await ingest(objects, personas);
  console.log(
    `result ${
      JSON.stringify({ objectsPerSecond: rate, bytesPerPersona: memory })
    }`,
  );
}
