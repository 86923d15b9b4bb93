/**
 * The client as an operator feels it: process start to exit for
 * `dorgu-ws version` (start-up alone) and `dorgu-ws get personas` (start-up,
 * connect, request, table), run as the binary runs, against a server on
 * the example cluster. Prints one `result {json}` line (medians, ms).
 *
 * @module
 */
import { waitReady } from "../tests/support/server.ts";
import { RUNTIME_PERMISSIONS } from "../tools/permissions.ts";
import { spawnServe } from "./serve.ts";

const rounds = Number(Deno.args[0] ?? 15);
const main = new URL("../main.ts", import.meta.url).pathname;
const examples = new URL("../examples/cluster", import.meta.url).pathname;

const { port, child: server } = spawnServe([
  "--source",
  examples,
  "--log-level",
  "warn",
]);

async function time(args: string[]): Promise<number> {
  const started = performance.now();
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["run", ...RUNTIME_PERMISSIONS, main, ...args],
    stdout: "null",
    stderr: "piped",
  }).output();
  if (!output.success) throw new Error(new TextDecoder().decode(output.stderr));
  return performance.now() - started;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

try {
  await waitReady(`http://127.0.0.1:${port}`, { pollMs: 20 });
  const startup: number[] = [];
  const get: number[] = [];
  for (let i = 0; i < rounds; i++) {
    startup.push(await time(["version"]));
    get.push(
      await time(["get", "personas", "--url", `ws://127.0.0.1:${port}/ws`]),
    );
  }
  console.log(
    `result ${
      JSON.stringify({ startupMs: median(startup), getMs: median(get) })
    }`,
  );
} finally {
  server.kill("SIGTERM");
  await server.status;
}
