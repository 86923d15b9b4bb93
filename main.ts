/**
 * dorgu-ws: the real-time WebSocket service between the dorgu CLI and a
 * Kubernetes cluster running the dorgu operator, and its client.
 *
 * Each subcommand is imported only when it runs, so the client never loads
 * the server or the Kubernetes client.
 *
 * @module
 */
import { UsageError } from "./src/flags.ts";
import { VERSION } from "./src/version.ts";

const USAGE = `Usage: dorgu-ws <command> [flags]

Commands:
  serve     Serve the WebSocket API (dorgu-ws serve --help)
  watch     Stream events: watch personas|cluster|events|deployments
  get       List: get personas|cluster|deployments
  version   Print the version

Run 'dorgu-ws <command> --help' for a command's flags.`;

/** Runs the command line `args`; resolves to the process exit code. */
export async function main(args: string[]): Promise<number> {
  const [command, ...rest] = args;
  try {
    switch (command) {
      case "serve": {
        const { runServe } = await import("./src/server/serve.ts");
        return await runServe(rest);
      }
      case "watch":
      case "get": {
        const { runClient } = await import("./src/cli/mod.ts");
        return await runClient(command, rest);
      }
      case "version":
      case "--version":
        console.log(`dorgu-ws ${VERSION}`);
        return 0;
      case undefined:
      case "help":
      case "-h":
      case "--help":
        console.log(USAGE);
        return 0;
      default:
        throw new UsageError(
          `unknown command '${command}'; run 'dorgu-ws --help' for the commands.`,
        );
    }
  } catch (error) {
    console.error(`dorgu-ws: ${(error as Error).message}`);
    return error instanceof UsageError ? 2 : 1;
  }
}

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
