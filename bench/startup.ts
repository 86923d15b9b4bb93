/**
 * Time from `dorgu-ws serve` to a 200 from `/ready` against a real
 * kube-apiserver holding 1,000 ApplicationPersonas (prints one
 * `result {json}` line). The server runs as the binary would: `main.ts`
 * with the binary's permissions, in its own process.
 *
 * @module
 */
import { waitReady } from "../tests/support/server.ts";
import { envWithPersonas } from "./personas_env.ts";
import { spawnServe } from "./serve.ts";

const personas = Number(Deno.args[0] ?? 1000);
const rounds = Number(Deno.args[1] ?? 5);

const env = await envWithPersonas(personas);
try {
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
