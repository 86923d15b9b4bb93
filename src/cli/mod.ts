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
import { clientHelp, type ClientOptions, parseClientArgs } from "./options.ts";
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
  // A one-shot get stopped before its answer was interrupted, not done:
  // 128 + the signal's number, as a shell reports kubectl killed by it.
  let interrupted = 0;
  const onInt = () => (interrupted ||= 130, stop.abort());
  const onTerm = () => (interrupted ||= 143, stop.abort());
  Deno.addSignalListener("SIGINT", onInt);
  Deno.addSignalListener("SIGTERM", onTerm);
  const oneShot = command === "get" && options.follow === "no";
  let direct: Direct | undefined;
  try {
    const work = (async () => {
      if (options.target.cluster) {
        direct = await openDirect(options, stop.signal);
      }
      return command === "get"
        ? await runGet(options, stop.signal)
        : await runWatch(options, stop.signal);
    })();
    if (!oneShot) return await work;
    work.catch(() => {});
    return await Promise.race([work, aborted(stop.signal, () => interrupted)]);
  } catch (error) {
    // Ctrl+C while the cluster was still being read: done, like a watch.
    if (stop.signal.aborted && !direct) return oneShot ? interrupted : 0;
    // The reader of stdout has what it wanted (`| head -1`): done.
    if (error instanceof OutputClosed) return 0;
    if (error instanceof ClientError) {
      console.error(`dorgu-ws: ${forTerminal(error.message, true)}`);
      return error.exitCode;
    }
    if (error instanceof DorguError) {
      console.error(
        `dorgu-ws: ${forTerminal(error.message, true)}${hint(options, error)}`,
      );
      // A URL that is not one is a usage error.
      return error instanceof ConnectionError && error.kind === "url" ? 2 : 1;
    }
    throw error;
  } finally {
    await direct?.stop();
    Deno.removeSignalListener("SIGINT", onInt);
    Deno.removeSignalListener("SIGTERM", onTerm);
  }
}

// Nothing named a server and none answers at the default address: the user
// may have meant the cluster of their kubeconfig.
function hint(options: ClientOptions, error: DorguError): string {
  return options.target.defaulted && error instanceof ConnectionError &&
      error.kind === "refused"
    ? " No server was named (--url, --server, DORGU_WS_URL, the config file); to read a cluster with your kubeconfig instead, pass --context NAME."
    : "";
}

// Resolves to `code()` once `signal` aborts.
function aborted(signal: AbortSignal, code: () => number): Promise<number> {
  return new Promise((resolve) =>
    signal.addEventListener("abort", () => resolve(code()), { once: true })
  );
}
