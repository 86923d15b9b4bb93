/**
 * `dorgu-ws completion bash|zsh|fish`: shell completion for commands,
 * resources and their short names, flags, `-o` values, the server names
 * of the client's config file and the kubeconfig's contexts (`dorgu-ws
 * completion servers` and `contexts`, which the scripts call).
 *
 * @module
 */
import { type FlagSpecs, UsageError } from "../flags.ts";
import { TOPICS } from "../protocol/mod.ts";
import { flagsOf } from "./client_flags.ts";
import { RESOURCES } from "./resources.ts";
import { loadConfigFile } from "./settings.ts";

const COMMANDS = [
  "serve",
  "get",
  "watch",
  "dashboard",
  "version",
  "completion",
  "help",
];
const SHELLS = ["bash", "zsh", "fish"];

const USAGE = `Usage: dorgu-ws completion bash|zsh|fish

Prints a shell completion script.

Examples:
  # bash, now and in every new shell
  source <(dorgu-ws completion bash)
  dorgu-ws completion bash > ~/.local/share/bash-completion/completions/dorgu-ws

  # zsh (in ~/.zshrc)
  source <(dorgu-ws completion zsh)

  # fish
  dorgu-ws completion fish > ~/.config/fish/completions/dorgu-ws.fish`;

/** The flag tables of the server-side commands, which the client does not import. */
export interface ServerFlagTables {
  /** `serve`'s flags. */
  serveFlags: FlagSpecs;
  /** `dashboard`'s flags. */
  dashboardFlags: FlagSpecs;
}

/** Runs `completion`; resolves to the exit code. */
export async function runCompletion(
  args: string[],
  tables: ServerFlagTables,
): Promise<number> {
  const [shell, ...rest] = args;
  if (shell === "-h" || shell === "--help") {
    console.log(USAGE);
    return 0;
  }
  if (rest.length > 0) {
    throw new UsageError(
      `Unexpected argument '${
        rest[0]
      }'; run 'dorgu-ws completion bash|zsh|fish'.`,
    );
  }
  switch (shell) {
    case "bash":
      console.log(bashScript(tables));
      return 0;
    case "zsh":
      console.log(
        `# dorgu-ws completion for zsh, through its bash compatibility\nautoload -U +X compinit && compinit\nautoload -U +X bashcompinit && bashcompinit\n${
          bashScript(tables)
        }`,
      );
      return 0;
    case "fish":
      console.log(fishScript(tables));
      return 0;
    case "servers": {
      // Quiet on a broken file: a completion must never print an error.
      const config = await loadConfigFile().catch(() => undefined);
      for (const name of Object.keys(config?.servers ?? {})) console.log(name);
      return 0;
    }
    case "contexts": {
      // The kubeconfig's contexts, as kubectl completes --context; read by
      // laptop mode's code, loaded only here.
      const { contextNames }: typeof import("../local/connect.ts") =
        await import(new URL("../local/connect.ts", import.meta.url).href);
      for (const name of await contextNames().catch(() => [])) {
        console.log(name);
      }
      return 0;
    }
    default:
      throw new UsageError(
        `${
          shell === undefined
            ? "Completion for which shell?"
            : `No completion for '${shell}'.`
        } Choose bash, zsh or fish: dorgu-ws completion bash.`,
      );
  }
}

function flagWords(specs: FlagSpecs): string[] {
  return Object.entries(specs).flatMap(([name, spec]) => [
    `--${name}`,
    ...(spec.short ? [`-${spec.short}`] : []),
  ]);
}

// Flags that take a value, so the word after them is not a resource.
function valueFlags(specs: FlagSpecs): string[] {
  return Object.entries(specs).filter(([, spec]) => spec.type === "string")
    .flatMap(([name, spec]) => [
      `--${name}`,
      ...(spec.short ? [`-${spec.short}`] : []),
    ]);
}

function bashScript(tables: ServerFlagTables): string {
  const { serveFlags, dashboardFlags } = tables;
  const resources = TOPICS.flatMap((topic) => RESOURCES[topic].names);
  const get = flagsOf("get");
  const watch = flagsOf("watch");
  const version = flagsOf("version");
  const takesValue = [
    ...new Set([
      ...valueFlags(get),
      ...valueFlags(watch),
      ...valueFlags(serveFlags),
      ...valueFlags(dashboardFlags),
    ]),
  ];
  return `# dorgu-ws completion for bash: source <(dorgu-ws completion bash)
_dorgu_ws() {
  local cur=\${COMP_WORDS[COMP_CWORD]} prev=\${COMP_WORDS[COMP_CWORD-1]}
  local command=\${COMP_WORDS[1]} i has_resource=""
  COMPREPLY=()
  if [[ $COMP_CWORD -eq 1 ]]; then
    COMPREPLY=($(compgen -W "${COMMANDS.join(" ")}" -- "$cur"))
    return
  fi
  case "$prev" in
    -o|--output)
      case "$command" in
        get) COMPREPLY=($(compgen -W "table wide name json yaml" -- "$cur")) ;;
        watch) COMPREPLY=($(compgen -W "text json" -- "$cur")) ;;
        version) COMPREPLY=($(compgen -W "json yaml" -- "$cur")) ;;
      esac
      return ;;
    --server)
      COMPREPLY=($(compgen -W "$(\${COMP_WORDS[0]} completion servers 2>/dev/null)" -- "$cur"))
      return ;;
    --context)
      COMPREPLY=($(compgen -W "$(\${COMP_WORDS[0]} completion contexts 2>/dev/null)" -- "$cur"))
      return ;;
    --type) COMPREPLY=($(compgen -W "Normal Warning" -- "$cur")); return ;;
    --log-level) COMPREPLY=($(compgen -W "debug info warn error" -- "$cur")); return ;;
    --auth) COMPREPLY=($(compgen -W "none token kubernetes" -- "$cur")); return ;;
    --source|--kubeconfig|--token-file|--ca-file|--tls-cert-file|--tls-private-key-file) COMPREPLY=($(compgen -f -- "$cur")); return ;;
    ${takesValue.join("|")}) return ;;
  esac
  case "$command" in
    get|watch)
      if [[ $cur == -* ]]; then
        if [[ $command == get ]]; then
          COMPREPLY=($(compgen -W "${flagWords(get).join(" ")}" -- "$cur"))
        else
          COMPREPLY=($(compgen -W "${flagWords(watch).join(" ")}" -- "$cur"))
        fi
        return
      fi
      for ((i = 2; i < COMP_CWORD; i++)); do
        case "\${COMP_WORDS[i]}" in
          ${takesValue.join("|")}) ((i++)) ;;
          -*) ;;
          *) has_resource=1 ;;
        esac
      done
      [[ -z $has_resource ]] && COMPREPLY=($(compgen -W "${
    resources.join(" ")
  }" -- "$cur"))
      ;;
    serve) COMPREPLY=($(compgen -W "${
    flagWords(serveFlags).join(" ")
  }" -- "$cur")) ;;
    dashboard) COMPREPLY=($(compgen -W "${
    flagWords(dashboardFlags).join(" ")
  }" -- "$cur")) ;;
    version) COMPREPLY=($(compgen -W "${
    flagWords(version).join(" ")
  }" -- "$cur")) ;;
    completion) [[ $COMP_CWORD -eq 2 ]] && COMPREPLY=($(compgen -W "${
    SHELLS.join(" ")
  }" -- "$cur")) ;;
    help) [[ $COMP_CWORD -eq 2 ]] && COMPREPLY=($(compgen -W "${
    COMMANDS.join(" ")
  }" -- "$cur")) ;;
  esac
}
complete -F _dorgu_ws dorgu-ws`;
}

function fishScript(tables: ServerFlagTables): string {
  const lines = [
    "# dorgu-ws completion for fish: dorgu-ws completion fish | source",
    "complete -c dorgu-ws -f",
    `complete -c dorgu-ws -n __fish_use_subcommand -a '${COMMANDS.join(" ")}'`,
    `complete -c dorgu-ws -n '__fish_seen_subcommand_from completion' -a '${
      SHELLS.join(" ")
    }'`,
    `complete -c dorgu-ws -n '__fish_seen_subcommand_from help' -a '${
      COMMANDS.join(" ")
    }'`,
  ];
  const resources = TOPICS.flatMap((topic) => RESOURCES[topic].names);
  lines.push(
    `complete -c dorgu-ws -n '__fish_seen_subcommand_from get watch; and not __fish_seen_subcommand_from ${
      resources.join(" ")
    }' -a '${resources.join(" ")}'`,
  );
  const outputs: Record<string, string> = {
    get: "table wide name json yaml",
    watch: "text json",
    version: "json yaml",
  };
  const commands: [string, FlagSpecs][] = [
    ["serve", tables.serveFlags],
    ["dashboard", tables.dashboardFlags],
    ["get", flagsOf("get")],
    ["watch", flagsOf("watch")],
    ["version", flagsOf("version")],
  ];
  for (const [command, specs] of commands) {
    for (const [name, spec] of Object.entries(specs)) {
      const values = name === "output"
        ? ` -a '${outputs[command]}'`
        : name === "server"
        ? " -a '(dorgu-ws completion servers)'"
        : name === "context"
        ? " -a '(dorgu-ws completion contexts)'"
        : name === "type"
        ? " -a 'Normal Warning'"
        : "";
      lines.push(
        `complete -c dorgu-ws -n '__fish_seen_subcommand_from ${command}' -l ${name}${
          spec.short ? ` -s ${spec.short}` : ""
        }${spec.type === "string" ? " -r" : ""}${values} -d '${
          spec.help.replaceAll("'", "\\'")
        }'`,
      );
    }
  }
  return lines.join("\n");
}
