/**
 * `dorgu-ws serve` for the benchmarks, run as the binary runs it.
 *
 * @module
 */
import { RUNTIME_PERMISSIONS, V8_FLAGS_ARG } from "../tools/permissions.ts";

/**
 * Starts `main.ts serve ARGS` with the binary's permissions, listening on a
 * free loopback port; its stderr goes to ours.
 */
export function spawnServe(
  args: string[],
): { port: number; child: Deno.ChildProcess } {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      ...RUNTIME_PERMISSIONS,
      V8_FLAGS_ARG,
      new URL("../main.ts", import.meta.url).pathname,
      "serve",
      ...args,
      "--websocket-addr",
      `127.0.0.1:${port}`,
    ],
    stdout: "null",
    stderr: "inherit",
  }).spawn();
  return { port, child };
}
