/**
 * Laptop mode from the client's side: with `--context`, `--kubeconfig` or
 * a config entry naming a cluster, the in-process server (`src/local/`)
 * reads the cluster, and `get` and `watch` talk to it over an in-memory
 * channel exactly as they talk to a remote server. It is loaded here, by a
 * dynamic import, and only then: a client of a server never loads the
 * Kubernetes side.
 *
 * @module
 */
import { warmTls } from "../warm_tls.ts";
import type { ClientOptions } from "./options.ts";
import { forTerminal } from "./output.ts";

/** The in-process server, once started; stop it when the command ends. */
export interface Direct {
  /** Closes its connections and stops reading the cluster. */
  stop(): Promise<void>;
}

/**
 * Starts the in-process server for `options` (which must name a cluster)
 * and points `options.target` at it.
 */
export async function openDirect(
  options: ClientOptions,
  signal: AbortSignal,
): Promise<Direct> {
  // A config entry can name the cluster too; main.ts only sees flags.
  warmTls();
  // By a computed URL, so deno run does not load laptop mode's modules
  // before every command (main.ts, lazy).
  const { startLocal }: typeof import("../local/mod.ts") = await import(
    new URL("../local/mod.ts", import.meta.url).href
  );
  const local = await startLocal({
    cluster: options.target.cluster ?? {},
    topic: options.topic,
    namespace: options.namespace,
    names: options.names,
    follow: options.follow !== "no",
    timeoutMs: options.timeoutMs,
    notice: (text) => console.error(`dorgu-ws: ${forTerminal(text, true)}`),
    signal,
  });
  options.target.url = local.label;
  options.target.dial = local.dial;
  return local;
}
