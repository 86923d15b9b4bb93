/**
 * The client commands, `dorgu-ws get` and `dorgu-ws watch`. This path
 * imports only the protocol: never the server, the hub or the Kubernetes
 * client, which only laptop mode loads (direct.ts).
 *
 * @module
 */
import { type Direct, openDirect } from "./direct.ts";
import { ClientError } from "./errors.ts";
import { runGet } from "./get.ts";
import { clientHelp, parseClientArgs } from "./options.ts";
import { OutputClosed } from "./output.ts";

/** Runs `get` or `watch`; resolves to the exit code. */
export async function runClient(
  command: "get" | "watch",
  args: string[],
): Promise<number> {
  const options = await parseClientArgs(command, args);
  if (options === "help") {
    console.log(clientHelp(command));
    return 0;
  }
  const stop = new AbortController();
  const abort = () => stop.abort();
  Deno.addSignalListener("SIGINT", abort);
  Deno.addSignalListener("SIGTERM", abort);
  let direct: Direct | undefined;
  try {
    if (options.target.cluster) {
      direct = await openDirect(options, stop.signal);
    }
    if (command === "get") return await runGet(options, stop.signal);
    // The follower is loaded by what follows (watch, get -w) only.
    const { runWatch } = await import("./watch.ts");
    return await runWatch(options, stop.signal);
  } catch (error) {
    // Ctrl+C while the cluster was still being read: done, like a watch.
    if (stop.signal.aborted && !direct) return 0;
    // The reader of stdout has what it wanted (`| head -1`): done.
    if (error instanceof OutputClosed) return 0;
    if (error instanceof ClientError) {
      console.error(`dorgu-ws: ${error.message}`);
      return error.exitCode;
    }
    throw error;
  } finally {
    await direct?.stop();
    Deno.removeSignalListener("SIGINT", abort);
    Deno.removeSignalListener("SIGTERM", abort);
  }
}
