/**
 * dorgu-ws: the real-time WebSocket service between the dorgu CLI and a
 * Kubernetes cluster running the dorgu operator, and its client.
 *
 * Each subcommand is imported only when it runs, so the client never loads
 * the server or the Kubernetes client.
 *
 * @module
 */
import { forTerminal } from "./src/cli/output.ts";
import { bypassProxyForLoopback, UsageError } from "./src/flags.ts";
import { namesCluster, warmTls } from "./src/warm_tls.ts";

const USAGE = `Usage: dorgu-ws <command> [flags]

Commands:
  get         List personas (ap), cluster (cp), deployments (deploy), events (ev)
  watch       Print the current state, then every change, as one line each
  dashboard   Serve a cluster's live dashboard on this machine, from a kubeconfig
  serve       Serve the WebSocket API
  version     Print the client's version (and the server's, with --url or --server)
  completion  Print a bash, zsh or fish completion script

Examples:
  dorgu-ws get personas --context prod     # straight from a kubeconfig context
  dorgu-ws watch personas -n production --context prod
  dorgu-ws get personas -n production      # from a dorgu-ws server
  dorgu-ws get events --type Warning
  dorgu-ws watch personas --server prod
  dorgu-ws dashboard --context prod
  dorgu-ws serve --source demo

Run 'dorgu-ws help <command>' or 'dorgu-ws <command> --help' for its flags.`;

const COMMANDS = [
  "serve",
  "get",
  "watch",
  "dashboard",
  "version",
  "completion",
];

/** Runs the command line `args`; resolves to the process exit code. */
export async function main(args: string[]): Promise<number> {
  const [command, ...rest] = args;
  if (namesCluster(command, rest)) warmTls();
  // A port-forward on localhost, a kind cluster on 127.0.0.1: never a proxy's.
  bypassProxyForLoopback();
  try {
    switch (command) {
      case "serve": {
        const { runServe }: typeof import("./src/server/serve.ts") =
          await import(lazy("./src/server/serve.ts"));
        return await runServe(rest);
      }
      case "dashboard": {
        const { runDashboard }:
          typeof import("./src/server/dashboard_command.ts") = await import(
            lazy("./src/server/dashboard_command.ts")
          );
        return await runDashboard(rest);
      }
      case "watch":
      case "get": {
        const { runClient } = await import("./src/cli/mod.ts");
        return await runClient(command, rest);
      }
      case "version":
      case "--version":
      case "-v": {
        const { runVersion } = await import("./src/cli/version.ts");
        return await runVersion(rest);
      }
      case "completion": {
        // The script lists serve's and dashboard's flags too; the client
        // never imports the server, so the entry point hands the tables over.
        const [{ runCompletion }, { SERVE_FLAGS }, { DASHBOARD_FLAGS }]: [
          typeof import("./src/cli/completion.ts"),
          typeof import("./src/server/config.ts"),
          typeof import("./src/server/dashboard_flags.ts"),
        ] = await Promise.all([
          import(lazy("./src/cli/completion.ts")),
          import(lazy("./src/server/config.ts")),
          import(lazy("./src/server/dashboard_flags.ts")),
        ]);
        return await runCompletion(rest, {
          serveFlags: SERVE_FLAGS,
          dashboardFlags: DASHBOARD_FLAGS,
        });
      }
      case "help":
        if (rest.length > 0) return await help(rest[0]);
        console.log(USAGE);
        return 0;
      case undefined:
      case "-h":
      case "--help":
        console.log(USAGE);
        return 0;
      default:
        throw new UsageError(
          `Unknown command '${command}'; the commands are ${
            COMMANDS.join(", ")
          } (run 'dorgu-ws --help').`,
        );
    }
  } catch (error) {
    // An API server's or a plugin's words may be in it.
    console.error(`dorgu-ws: ${forTerminal((error as Error).message, true)}`);
    return error instanceof UsageError ? 2 : (error as { exitCode?: number })
      .exitCode ?? 1;
  }
}

// `dorgu-ws help get` is `dorgu-ws get --help`.
function help(command: string): Promise<number> {
  if (!COMMANDS.includes(command)) {
    throw new UsageError(
      `No help for '${command}'; the commands are ${COMMANDS.join(", ")}.`,
    );
  }
  return main([command, "--help"]);
}

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}

/**
 * `path` as a URL the module graph does not follow. `deno run` reads and
 * parses every module a string literal imports, dynamic or not, before the
 * program starts: the server's, the dashboard command's and laptop mode's
 * 180 modules cost every `get` and `version` about 5 ms. Imported by a
 * computed URL they load only when that command runs; `deno compile`
 * embeds them through `--include` (tools/permissions.ts, LAZY_MODULES).
 */
export function lazy(path: string): string {
  return new URL(path, import.meta.url).href;
}
