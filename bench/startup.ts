/**
 * Time from `dorgu-ws serve` to a 200 from `/ready` against a real
 * kube-apiserver holding 1,000 ApplicationPersonas (prints one
 * `result {json}` line). The server runs as the binary would: `main.ts`
 * with the binary's permissions, in its own process.
 */
import { Envtest } from "../tests/support/envtest.ts";
import { waitReady } from "../tests/support/server.ts";
import { realisticPersona } from "./ingest.ts";
import { spawnServe } from "./serve.ts";

const personas = Number(Deno.args[0] ?? 1000);
const rounds = Number(Deno.args[1] ?? 5);

const env = await Envtest.start();
try {
  await env.installCrds();
  for (let team = 0; team < 40; team++) {
    await env.ensureNamespace(`team-${team}`);
  }
  const objects = Array.from({ length: personas }, (_, i) => {
    const object = realisticPersona(i, 1) as {
      metadata: Record<string, unknown>;
    };
    object.metadata = {
      name: object.metadata.name,
      namespace: object.metadata.namespace,
    };
    return object;
  });
  for (let i = 0; i < objects.length; i += 20) {
    await Promise.all(
      objects.slice(i, i + 20).map((object) => env.apply([object])),
    );
  }
  const times: number[] = [];
  for (let round = 0; round < rounds; round++) {
    const started = performance.now();
    const { port, child } = spawnServe([
      "--kubeconfig",
      env.kubeconfig,
      "--log-level",
      "warn",
    ]);
    await waitReady(`http://127.0.0.1:${port}`, { pollMs: 5 });
    times.push(performance.now() - started);
    child.kill("SIGTERM");
    await child.status;
  }
  times.sort((a, b) => a - b);
  console.log(
    `result ${
      JSON.stringify({ readyMs: times[Math.floor(times.length / 2)], times })
    }`,
  );
} finally {
  await env.stop();
}
