/**
 * Command-line flags for every subcommand, parsed the way kubectl and Go
 * programs parse them (`--flag value`, `--flag=value`, `-n value`,
 * `-nvalue`, combined short booleans, `--flag=false`), plus a `DORGU_WS_*`
 * environment variable for the flags that have one. This is the one
 * module that reads `DORGU_WS_*` variables (and the one that sets one of
 * the runtime's: `NO_PROXY`, for loopback).
 *
 * A parser of our own rather than `node:util` parseArgs: parseArgs refuses
 * `--rate-limit -1` and `--enable-websocket=maybe` with several lines of
 * its own wording, where a user needs one line naming the flag.
 *
 * @module
 */

/** A bad flag or value: the process prints one line and exits 2. */
export class UsageError extends Error {
  /** Creates the error; `message` is the line the user sees. */
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

/** How one flag is parsed and documented. */
export interface FlagSpec {
  /** `string` flags take a value; `boolean` flags do not. */
  type: "string" | "boolean";
  /** Whether the flag may be given several times (and the env var is comma-separated). */
  multiple?: boolean;
  /** One-letter alias, e.g. `n` for `-n`. */
  short?: string;
  /** Shown in the help after the flag, e.g. `ADDR`. */
  value?: string;
  /** One line of help. */
  help: string;
  /** Default, as the user would write it (and the help shows it). */
  default?: string;
  /** Whether a `DORGU_WS_*` variable can set it. Default true. */
  env?: boolean;
}

/** Flags by name, without the leading dashes. */
export type FlagSpecs = Record<string, FlagSpec>;

/** One flag's parsed value. */
export type FlagValue = string | boolean | string[];

/** Parsed flag values by name; absent when neither flag nor variable set it. */
export type FlagValues = Record<string, FlagValue | undefined>;

/** The outcome of {@link parseFlags}. */
export interface ParsedFlags {
  /** Values by flag name. */
  values: FlagValues;
  /** Arguments that are not flags, in order. */
  positionals: string[];
  /**
   * Where each value came from, as the user wrote it: `--url`, `-n` or
   * `DORGU_WS_URL`. Messages about a value name this, not the flag.
   */
  sources: Record<string, string>;
}

/** Options for {@link parseFlags}. */
export interface ParseFlagsOptions {
  /** Reads an environment variable. Default: {@link readEnv}. */
  env?: (name: string) => string | undefined;
  /** The command, for messages: e.g. `dorgu-ws serve`. */
  command: string;
}

/** The environment variable that sets flag `name`. */
export function envName(name: string): string {
  return `DORGU_WS_${name.toUpperCase().replaceAll("-", "_")}`;
}

/**
 * Reads an environment variable; undefined when it is unset, empty, or
 * the process may not read the environment.
 */
export function readEnv(name: string): string | undefined {
  try {
    return Deno.env.get(name) || undefined;
  } catch {
    return undefined;
  }
}

/**
 * Keeps requests to this machine away from `HTTP_PROXY`/`HTTPS_PROXY`, as
 * Go's HTTP client (and so kubectl) does: Deno's goes through the proxy
 * unless `NO_PROXY` names the host, so a kind cluster on 127.0.0.1 or a
 * `kubectl port-forward` at localhost:9090 would be asked of a corporate
 * proxy. The loopback names join `NO_PROXY`, which Deno reads whenever it
 * makes an HTTP client or a WebSocket.
 */
export function bypassProxyForLoopback(): void {
  const current = readEnv("NO_PROXY") ?? readEnv("no_proxy") ?? "";
  if (current.includes(LOOPBACK)) return;
  try {
    Deno.env.set("NO_PROXY", [current, LOOPBACK].filter(Boolean).join(","));
  } catch {
    // Without --allow-env, proxies stay as the environment says.
  }
}

const LOOPBACK = "localhost,127.0.0.0/8,::1";

/**
 * Parses `args` against `specs`. Flags win over environment variables;
 * defaults are left to the caller. Throws {@link UsageError}.
 */
export function parseFlags(
  args: string[],
  specs: FlagSpecs,
  options: ParseFlagsOptions,
): ParsedFlags {
  const parsed = tokenize(args, specs, options.command);
  const env = options.env ?? readEnv;
  for (const [name, spec] of Object.entries(specs)) {
    if (parsed.values[name] !== undefined || spec.env === false) continue;
    const variable = envName(name);
    const raw = env(variable);
    if (raw === undefined || raw === "") continue;
    parsed.sources[name] = variable;
    if (spec.type === "boolean") {
      parsed.values[name] = parseBoolean(raw, variable);
    } else if (spec.multiple) {
      parsed.values[name] = raw.split(",").map((s) => s.trim()).filter(
        Boolean,
      );
    } else {
      parsed.values[name] = raw;
    }
  }
  return parsed;
}

/** The name to blame for flag `name`'s value: what set it, else `--name`. */
export function sourceOf(parsed: ParsedFlags, name: string): string {
  return parsed.sources[name] ?? `--${name}`;
}

function tokenize(
  args: string[],
  specs: FlagSpecs,
  command: string,
): ParsedFlags {
  const values: FlagValues = {};
  const sources: Record<string, string> = {};
  const positionals: string[] = [];
  const byShort = new Map(
    Object.entries(specs).flatMap(([name, spec]) =>
      spec.short ? [[spec.short, name] as const] : []
    ),
  );
  const unknown = (flag: string) =>
    new UsageError(
      `Unknown flag '${flag}'; run '${command} --help' for its flags.`,
    );
  const set = (name: string, value: string | boolean, given: string) => {
    const previous = values[name];
    values[name] = specs[name].multiple
      ? [...(Array.isArray(previous) ? previous : []), String(value)]
      : value;
    sources[name] = given;
  };
  // A string flag takes the next argument, unless that is another flag:
  // `--rate-limit -1` is a value to check, `--timeout --url x` a mistake.
  const valueAfter = (index: number, given: string) => {
    const next = args[index + 1];
    if (next === undefined || (next.startsWith("-") && !/^-\d/.test(next))) {
      throw new UsageError(
        `${given} needs a value; run '${command} --help' for its flags.`,
      );
    }
    return next;
  };

  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (arg === "--") {
      positionals.push(...args.slice(i + 1));
      break;
    }
    if (arg.startsWith("--")) {
      const eq = arg.indexOf("=");
      const key = eq < 0 ? arg.slice(2) : arg.slice(2, eq);
      const inline = eq < 0 ? undefined : arg.slice(eq + 1);
      const negated = !specs[key] && key.startsWith("no-") &&
        specs[key.slice(3)]?.type === "boolean";
      const name = negated ? key.slice(3) : key;
      const spec = specs[name];
      if (!spec) throw unknown(`--${key}`);
      if (spec.type === "boolean") {
        if (negated && inline !== undefined) throw unknown(arg);
        set(
          name,
          negated
            ? false
            : inline === undefined
            ? true
            : parseBoolean(inline, `--${name}`),
          `--${name}`,
        );
      } else {
        set(name, inline ?? valueAfter(i++, `--${name}`), `--${name}`);
      }
      continue;
    }
    if (arg.startsWith("-") && arg.length > 1) {
      // -Aw (two booleans), -ojson and -o=json (a value attached).
      for (let j = 1; j < arg.length; j++) {
        const name = byShort.get(arg[j]);
        if (!name) throw unknown(j === 1 ? arg : `-${arg[j]}`);
        const given = `-${arg[j]}`;
        if (specs[name].type === "boolean") {
          set(name, true, given);
          continue;
        }
        const attached = arg.slice(j + 1).replace(/^=/, "");
        set(name, attached || valueAfter(i++, given), given);
        break;
      }
      continue;
    }
    positionals.push(arg);
  }
  return { values, positionals, sources };
}

/** Help text listing every flag, its env var and default. */
export function formatFlags(specs: FlagSpecs): string {
  const rows = Object.entries(specs).map(([name, spec]) => {
    const flag = `${spec.short ? `-${spec.short}, ` : "    "}--${name}${
      spec.value ? ` ${spec.value}` : ""
    }`;
    const notes = [
      spec.default !== undefined ? `default ${spec.default}` : "",
      spec.env === false ? "" : `env ${envName(name)}`,
    ].filter(Boolean).join("; ");
    return [flag, `${spec.help}${notes ? ` (${notes})` : ""}`];
  });
  const width = Math.max(...rows.map(([flag]) => flag.length)) + 2;
  return rows.map(([flag, help]) => `  ${flag.padEnd(width)}${help}`).join(
    "\n",
  );
}

/** Parses `true`/`false`/`1`/`0`/`yes`/`no`/`on`/`off`. */
export function parseBoolean(raw: string, what: string): boolean {
  const value = raw.trim().toLowerCase();
  if (["true", "1", "yes", "on"].includes(value)) return true;
  if (["false", "0", "no", "off"].includes(value)) return false;
  throw new UsageError(`${what} must be true or false, got '${raw}'.`);
}

const DURATION_UNITS: Record<string, number> = {
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
};

/**
 * Parses a duration such as `10s`, `500ms`, `2m` (a bare number is
 * seconds) into ms. Zero is refused: no wait of ours may be zero.
 */
export function parseDuration(raw: string, what: string): number {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(raw.trim());
  if (!match) {
    throw new UsageError(
      `${what} must be a duration such as 10s, 500ms or 2m, got '${raw}'.`,
    );
  }
  const ms = Math.round(Number(match[1]) * DURATION_UNITS[match[2] ?? "s"]);
  if (ms < 1) {
    throw new UsageError(
      `${what} must be longer than zero, such as 10s or 500ms, got '${raw}'.`,
    );
  }
  // Timers take at most 2^31 - 1 ms; a longer one would fire at once.
  if (ms > MAX_DURATION_MS) {
    throw new UsageError(
      `${what} must be at most 24 days (${
        MAX_DURATION_MS / 3_600_000 | 0
      }h), got '${raw}'.`,
    );
  }
  return ms;
}

const MAX_DURATION_MS = 2 ** 31 - 1;

const SIZE_UNITS: Record<string, number> = {
  "": 1,
  b: 1,
  k: 1000,
  kb: 1000,
  kib: 1024,
  m: 1_000_000,
  mb: 1_000_000,
  mib: 1024 * 1024,
};

/** Parses a byte size such as `512KiB`, `1MiB` or `524288`. */
export function parseSize(raw: string, what: string): number {
  const match = /^(\d+)\s*([a-z]*)$/i.exec(raw.trim());
  const unit = SIZE_UNITS[match?.[2].toLowerCase() ?? "x"];
  if (!match || unit === undefined) {
    throw new UsageError(
      `${what} must be a size such as 512KiB, 1MiB or 65536, got '${raw}'.`,
    );
  }
  return Number(match[1]) * unit;
}

/** Parses a whole number within `[min, max]`. */
export function parseInteger(
  raw: string,
  what: string,
  range: { min: number; max: number },
): number {
  const value = Number(raw);
  if (
    !/^\d+$/.test(raw.trim()) || value < range.min || value > range.max
  ) {
    throw new UsageError(
      `${what} must be a whole number from ${range.min} to ${range.max}, got '${raw}'.`,
    );
  }
  return value;
}

/** Checks that `raw` is one of `allowed.choices`. */
export function parseChoice<T extends string>(
  raw: string,
  what: string,
  allowed: { choices: readonly T[] },
): T {
  const { choices } = allowed;
  if ((choices as readonly string[]).includes(raw)) return raw as T;
  throw new UsageError(
    `${what} must be ${oneOf(choices)}, got '${raw}'.`,
  );
}

/** `a, b or c`, for messages. */
export function oneOf(choices: readonly string[]): string {
  return choices.length < 2
    ? choices.join("")
    : `${choices.slice(0, -1).join(", ")} or ${choices.at(-1)}`;
}
