/**
 * Command-line flags shared by every subcommand: `node:util` parseArgs (the
 * JSR `@std/cli` is out of reach of our build machines) plus a
 * `DORGU_WS_*` environment variable for every flag, Go-style
 * `--flag=false` booleans, and units for durations and sizes.
 */
import { parseArgs } from "node:util";

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
  /** Default, as the help shows it. */
  default?: string;
  /** Whether a `DORGU_WS_*` variable can set it. Default true. */
  env?: boolean;
}

/** Flags by name, without the leading dashes. */
export type FlagSpecs = Record<string, FlagSpec>;

/** Parsed flag values: strings, booleans or string lists. */
export type FlagValues = Record<
  string,
  string | boolean | string[] | undefined
>;

/** Options for {@link parseFlags}. */
export interface ParseFlagsOptions {
  /** Reads an environment variable. Default: `Deno.env.get`, if permitted. */
  env?: (name: string) => string | undefined;
  /** How many positional arguments the command takes at most. */
  maxPositionals?: number;
  /** The command, for messages: e.g. `dorgu-ws serve`. */
  command: string;
}

/** The environment variable that sets flag `name`. */
export function envName(name: string): string {
  return `DORGU_WS_${name.toUpperCase().replaceAll("-", "_")}`;
}

/**
 * Parses `args` against `specs`. Flags win over environment variables,
 * which win over defaults (left to the caller). Throws {@link UsageError}.
 */
export function parseFlags(
  args: string[],
  specs: FlagSpecs,
  options: ParseFlagsOptions,
): { values: FlagValues; positionals: string[] } {
  const env = options.env ?? readEnv;
  const normalized = args.map((arg) => {
    // Go's flag package writes booleans as --flag=false; parseArgs does not.
    const match = /^--([a-z0-9-]+)=(true|false)$/.exec(arg);
    if (!match || specs[match[1]]?.type !== "boolean") return arg;
    return match[2] === "true" ? `--${match[1]}` : `--no-${match[1]}`;
  });
  let parsed;
  try {
    parsed = parseArgs({
      args: normalized,
      options: Object.fromEntries(
        Object.entries(specs).map(([name, spec]) => [name, {
          type: spec.type,
          multiple: spec.multiple ?? false,
          ...(spec.short ? { short: spec.short } : {}),
        }]),
      ),
      allowPositionals: true,
      allowNegative: true,
      strict: true,
    });
  } catch (error) {
    // Node's wording goes on with advice about '--' that does not apply.
    const reason = lowerFirst((error as Error).message.split(". ")[0]);
    throw new UsageError(
      `${reason}; run '${options.command} --help' for its flags.`,
    );
  }
  const max = options.maxPositionals ?? 0;
  if (parsed.positionals.length > max) {
    throw new UsageError(
      `unexpected argument '${
        parsed.positionals[max]
      }'; run '${options.command} --help' for usage.`,
    );
  }
  const values = { ...parsed.values } as FlagValues;
  for (const [name, spec] of Object.entries(specs)) {
    if (values[name] !== undefined || spec.env === false) continue;
    const raw = env(envName(name));
    if (raw === undefined || raw === "") continue;
    if (spec.type === "boolean") {
      values[name] = parseBoolean(raw, envName(name));
    } else if (spec.multiple) {
      values[name] = raw.split(",").map((s) => s.trim()).filter(Boolean);
    } else {
      values[name] = raw;
    }
  }
  return { values, positionals: parsed.positionals };
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

/** Parses `true`/`false`/`1`/`0`/`yes`/`no`. */
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

/** Parses a duration such as `10s`, `500ms`, `2m` (a bare number is seconds) into ms. */
export function parseDuration(raw: string, what: string): number {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(raw.trim());
  if (!match) {
    throw new UsageError(
      `${what} must be a duration such as 10s, 500ms or 2m, got '${raw}'.`,
    );
  }
  return Math.round(Number(match[1]) * DURATION_UNITS[match[2] ?? "s"]);
}

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

function readEnv(name: string): string | undefined {
  try {
    return Deno.env.get(name);
  } catch {
    return undefined;
  }
}

function lowerFirst(text: string): string {
  return text.charAt(0).toLowerCase() + text.slice(1);
}
