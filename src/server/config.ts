/**
 * `dorgu-ws serve` flags and environment, turned into a validated
 * {@link ServeConfig}: the table in serve_flags.ts, with the defaults and
 * the help derived from it. Flag names and the `:9090` address form follow
 * the seed's operator flags.
 *
 * @module
 */
import * as v from "valibot";
import {
  envName,
  type FlagValue,
  formatFlags,
  parseBoolean,
  type ParsedFlags,
  parseFlags,
  sourceOf,
  UsageError,
} from "../flags.ts";
import {
  ConfigSchema,
  SERVE_FLAGS,
  type ServeConfig,
  type ServeFlag,
} from "./serve_flags.ts";

export {
  parseListenAddress,
  SERVE_FLAGS,
  type ServeConfig,
  type ServeFlag,
} from "./serve_flags.ts";

/** `dorgu-ws serve --help`. */
export function serveHelp(): string {
  return `Usage: dorgu-ws serve [flags]

Serves the dorgu WebSocket API for a Kubernetes cluster, or for a directory
of manifests with --source DIR.

Examples:
  # Follow the cluster of the current kubeconfig context
  dorgu-ws serve

  # One context, two namespaces, on loopback only
  dorgu-ws serve --context staging -n payments -n checkout --websocket-addr 127.0.0.1:9090

  # The example cluster built in, with bearer tokens
  dorgu-ws serve --source demo --auth token --token-file tokens.csv

  # TLS, with a certificate renewed in place (by cert-manager, say)
  dorgu-ws serve --tls-cert-file tls.crt --tls-private-key-file tls.key

Flags:
${formatFlags(SERVE_FLAGS)}`;
}

/** The config with every flag at its default, derived from {@link SERVE_FLAGS}. */
export const DEFAULT_CONFIG: ServeConfig = configFrom({
  values: {},
  positionals: [],
  sources: {},
});

/** Parses `serve` arguments (and `DORGU_WS_*` variables) into a config. */
export function parseServeArgs(
  args: string[],
  options: { env?: (name: string) => string | undefined } = {},
): ServeConfig | "help" {
  const parsed = parseFlagsOnly(args, SERVE_FLAGS, {
    command: "serve",
    env: options.env,
  });
  if (parsed === "help") return "help";
  const config = configFrom(parsed);
  if (config.auth === "token" && !config.tokenFile) {
    throw new UsageError(
      `${
        sourceOf(parsed, "auth")
      } token needs --token-file (or DORGU_WS_TOKEN_FILE) with the tokens.`,
    );
  }
  if (
    (config.tlsCertFile === undefined) !==
      (config.tlsPrivateKeyFile === undefined)
  ) {
    const [given, missing] = config.tlsCertFile === undefined
      ? ["tls-private-key-file", "tls-cert-file"]
      : ["tls-cert-file", "tls-private-key-file"];
    throw new UsageError(
      `${sourceOf(parsed, given)} needs --${missing} (or ${
        envName(missing)
      }) too: TLS takes a certificate and its private key.`,
    );
  }
  return config;
}

/**
 * Parses the flags of a server-side command that takes no arguments:
 * "help" for `-h`, a {@link UsageError} for anything that is not a flag.
 */
export function parseFlagsOnly(
  args: string[],
  specs: Record<string, ServeFlag>,
  options: { command: string; env?: (name: string) => string | undefined },
): ParsedFlags | "help" {
  const { command } = options;
  const parsed = parseFlags(args, specs, {
    command: `dorgu-ws ${command}`,
    env: options.env,
  });
  if (parsed.values.help) return "help";
  if (parsed.positionals.length > 0) {
    throw new UsageError(
      `Unexpected argument '${
        parsed.positionals[0]
      }'; ${command} takes flags only (run 'dorgu-ws ${command} --help').`,
    );
  }
  return parsed;
}

/**
 * The config fields `specs` set from `parsed` (each flag's value, else its
 * default), each value checked by its flag.
 */
export function readFlags(
  specs: Record<string, ServeFlag>,
  parsed: ParsedFlags,
): Partial<ServeConfig> {
  const raw: Partial<ServeConfig> = {};
  for (const [name, flag] of Object.entries(specs)) {
    const value = parsed.values[name] ?? defaultOf(flag);
    if (value === undefined || !flag.read) continue;
    Object.assign(raw, flag.read(value, sourceOf(parsed, name)));
  }
  return raw;
}

function configFrom(flags: ParsedFlags): ServeConfig {
  const raw = readFlags(SERVE_FLAGS, flags);
  // Every read above checks its own value; this catches a table entry that
  // forgets a field.
  const parsed = v.safeParse(ConfigSchema, raw);
  if (!parsed.success) {
    throw new Error(
      `The serve flag table left ${
        v.getDotPath(parsed.issues[0]) ?? "a field"
      } unset or invalid.`,
    );
  }
  return parsed.output;
}

function defaultOf(flag: ServeFlag): FlagValue | undefined {
  if (flag.multiple) return [];
  if (flag.default === undefined) return undefined;
  return flag.type === "boolean"
    ? parseBoolean(flag.default, "default")
    : flag.default;
}
