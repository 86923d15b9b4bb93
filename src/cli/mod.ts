/**
 * The client commands, `dorgu-ws get` and `dorgu-ws watch`. This path
 * imports only the protocol: never the server, the hub or the Kubernetes
 * client, which only laptop mode loads (direct.ts).
 *
 * @module
 */
import { ConnectionError, DorguError } from "../client/mod.ts";
import { type Direct, openDirect } from "./direct.ts";
import { ClientError } from "./errors.ts";
import { runGet } from "./get.ts";
import { clientHelp, parseClientArgs } from "./options.ts";
import { forTerminal, OutputClosed } from "./output.ts";
import { runWatch } from "./watch.ts";

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
    return command === "get"
      ? await runGet(options, stop.signal)
      : await runWatch(options, stop.signal);
  } catch (error) {
    // Ctrl+C while the cluster was still being read: done, like a watch.
    if (stop.signal.aborted && !direct) return 0;
    // The reader of stdout has what it wanted (`| head -1`): done.
    if (error instanceof OutputClosed) return 0;
    if (error instanceof ClientError) {
      console.error(`dorgu-ws: ${forTerminal(error.message, true)}`);
      return error.exitCode;
    }
    if (error instanceof DorguError) {
      console.error(`dorgu-ws: ${forTerminal(error.message, true)}`);
      // A URL that is not one is a usage error.
      return error instanceof ConnectionError && error.kind === "url" ? 2 : 1;
    }
    throw error;
  } finally {
    await direct?.stop();
    Deno.removeSignalListener("SIGINT", abort);
    Deno.removeSignalListener("SIGTERM", abort);
  }
}
