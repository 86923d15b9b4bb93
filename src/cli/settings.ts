/**
 * Which server the client talks to, and with what token: flags first, then
 * `DORGU_WS_URL` and `DORGU_WS_TOKEN`, then the named servers of the
 * client's config file (`$XDG_CONFIG_HOME/dorgu-ws/config.yaml`, else
 * `~/.config/dorgu-ws/config.yaml`):
 *
 * ```yaml
 * current: prod
 * servers:
 *   prod:
 *     url: wss://dorgu-ws.prod.example.com/ws
 *     token-file: ~/.config/dorgu-ws/prod.token
 *     ca-file: ~/.config/dorgu-ws/prod-ca.crt
 *     namespace: payments
 *   staging:
 *     url: ws://localhost:9091/ws
 *     token: s3cret
 *   lab:
 *     url: wss://10.0.0.7:9090/ws
 *     insecure-skip-tls-verify: true
 * ```
 *
 * The file is read only when it decides something, so a broken file never
 * stops `--url`.
 *
 * @module
 */
import { FileRefused, readBoundedText } from "../files.ts";
import * as v from "valibot";
import { readEnv, UsageError } from "../flags.ts";
import { NamespaceSchema } from "../protocol/mod.ts";
import type { TlsOptions } from "../client/mod.ts";

// The config, a token file or a CA bundle: small files, read in full.
const MAX_FILE_BYTES = 1024 * 1024;

/** Where the client connects, and as whom. */
export interface Target {
  /** The WebSocket URL. */
  url: string;
  /** Bearer token, if any. */
  token?: string;
  /** The named server's default namespace, if it has one. */
  namespace?: string;
  /** How a `wss://` server's certificate is checked. */
  tls?: TlsOptions;
}

/** What the user gave on the command line and in `DORGU_WS_*`. */
export interface TargetFlags {
  /** `--url`. */
  url?: string;
  /** `DORGU_WS_URL`. */
  envUrl?: string;
  /** `--server`. */
  server?: string;
  /** `--token`. */
  token?: string;
  /** `DORGU_WS_TOKEN`. */
  envToken?: string;
  /** `--ca-file`. */
  caFile?: string;
  /** `--insecure-skip-tls-verify`. */
  insecure?: boolean;
}

/** Where the server is when nothing says otherwise. */
export const DEFAULT_URL = "ws://localhost:9090/ws";

const WS_URL = /^wss?:\/\/[^/]/;

const ServerSchema = v.strictObject({
  url: v.pipe(
    v.string("url must be a string"),
    v.regex(WS_URL, "url must be a ws:// or wss:// URL"),
  ),
  token: v.optional(
    v.pipe(
      v.string("token must be a string"),
      v.minLength(1, "token must not be empty"),
    ),
  ),
  "token-file": v.optional(v.string("token-file must be a path")),
  namespace: v.optional(NamespaceSchema),
  "ca-file": v.optional(v.string("ca-file must be a path")),
  "insecure-skip-tls-verify": v.optional(
    v.boolean("insecure-skip-tls-verify must be true or false"),
  ),
});

const ConfigFileSchema = v.strictObject({
  current: v.optional(v.string("current must name a server")),
  servers: v.optional(
    v.record(
      v.pipe(v.string(), v.regex(/^\S+$/, "a server name has no spaces")),
      ServerSchema,
    ),
    {},
  ),
});

/** The client's config file, validated. */
export type ConfigFile = v.InferOutput<typeof ConfigFileSchema>;

/** The config file's path: `$XDG_CONFIG_HOME` or `~/.config`, then `dorgu-ws/config.yaml`. */
export function configPath(): string | undefined {
  const base = readEnv("XDG_CONFIG_HOME") ??
    (readEnv("HOME") ? `${readEnv("HOME")}/.config` : undefined);
  return base ? `${base}/dorgu-ws/config.yaml` : undefined;
}

/**
 * Reads and validates the config file; undefined when there is none.
 * Throws one line naming the file and what is wrong in it.
 */
export async function loadConfigFile(
  path: string | undefined = configPath(),
): Promise<ConfigFile | undefined> {
  if (!path) return undefined;
  let text: string;
  try {
    text = await readBoundedText(path, { maxBytes: MAX_FILE_BYTES });
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return undefined;
    throw new UsageError(
      error instanceof FileRefused
        ? `Cannot read ${path}: ${error.message}; point the config at a regular file.`
        : `Cannot read ${path}: ${
          (error as Error).message
        }; fix its permissions.`,
    );
  }
  const { load } = await import("js-yaml");
  let raw: unknown;
  try {
    raw = load(text) ?? {};
  } catch (error) {
    const { reason, mark } = error as {
      reason?: string;
      mark?: { line: number };
    };
    throw new UsageError(
      `${path} is not valid YAML (${reason ?? "unreadable"}${
        mark ? ` on line ${mark.line + 1}` : ""
      }); fix the file.`,
    );
  }
  const parsed = v.safeParse(ConfigFileSchema, raw);
  if (!parsed.success) {
    const issue = parsed.issues[0];
    const where = v.getDotPath(issue);
    const message = issue.type === "strict_object"
      ? `unknown key ${
        where ?? ""
      }; a server has url, token, token-file, namespace, ca-file and insecure-skip-tls-verify`
      : `${where ? `${where}: ` : ""}${issue.message.replace(/\.$/, "")}`;
    throw new UsageError(`${path}: ${message}; fix the file.`);
  }
  const config = parsed.output;
  if (config.current !== undefined && !config.servers[config.current]) {
    throw new UsageError(
      `${path}: current names '${config.current}', which is not under servers; fix the file.`,
    );
  }
  for (const [name, server] of Object.entries(config.servers)) {
    if (server.token !== undefined && server["token-file"] !== undefined) {
      throw new UsageError(
        `${path}: servers.${name} has both token and token-file; keep one.`,
      );
    }
    if (server["ca-file"] !== undefined && server["insecure-skip-tls-verify"]) {
      throw new UsageError(
        `${path}: servers.${name} has both ca-file and insecure-skip-tls-verify; keep one.`,
      );
    }
  }
  return config;
}

/**
 * Decides the server and token: `--url`, else `--server NAME`, else
 * `DORGU_WS_URL`, else the file's `current` server, else
 * {@link DEFAULT_URL}. The token is `--token`, else that of a server named
 * with `--server`, else `DORGU_WS_TOKEN`, else that of the current server.
 */
export async function resolveTarget(
  flags: TargetFlags,
  options: { path?: string } = {},
): Promise<Target> {
  if (flags.url !== undefined && flags.server !== undefined) {
    throw new UsageError(
      "--url and --server both name a server; pass one of them.",
    );
  }
  if (flags.caFile !== undefined && flags.insecure) {
    throw new UsageError(
      "--ca-file and --insecure-skip-tls-verify contradict each other; pass one of them.",
    );
  }
  const fromFlags = async () =>
    flags.insecure
      ? { insecure: true }
      : flags.caFile !== undefined
      ? { caCerts: [await readCa(flags.caFile, "--ca-file")] }
      : undefined;
  if (flags.url !== undefined) {
    return {
      url: checkUrl(flags.url, "--url"),
      token: flags.token ?? flags.envToken,
      tls: await fromFlags(),
    };
  }
  if (flags.server === undefined && flags.envUrl !== undefined) {
    return {
      url: checkUrl(flags.envUrl, "DORGU_WS_URL"),
      token: flags.token ?? flags.envToken,
      tls: await fromFlags(),
    };
  }
  const path = options.path ?? configPath();
  const config = await loadConfigFile(path);
  const name = flags.server ?? config?.current;
  if (name === undefined) {
    return {
      url: DEFAULT_URL,
      token: flags.token ?? flags.envToken,
      tls: await fromFlags(),
    };
  }
  const server = config?.servers[name];
  if (!server) {
    const names = Object.keys(config?.servers ?? {});
    throw new UsageError(
      `--server ${name}: no such server in ${path ?? "the config file"}${
        names.length ? `; it has ${names.join(", ")}` : "; add it under servers"
      }.`,
    );
  }
  const own = server.token ??
    (server["token-file"] !== undefined
      ? await readToken(server["token-file"], { path: path!, name })
      : undefined);
  // The command line's choice wins over the file's.
  const caFile = server["ca-file"];
  const tls = await fromFlags() ??
    (server["insecure-skip-tls-verify"]
      ? { insecure: true }
      : caFile !== undefined
      ? {
        caCerts: [
          await readCa(
            expandPath(caFile, path!),
            `${path}: servers.${name}.ca-file`,
          ),
        ],
      }
      : undefined);
  return {
    url: checkUrl(server.url, `${path}: servers.${name}.url`),
    token: flags.token ??
      (flags.server !== undefined
        ? own ?? flags.envToken
        : flags.envToken ?? own),
    namespace: server.namespace,
    tls,
  };
}

/**
 * Checks a WebSocket URL; one without a path gets `/ws`, the path the
 * server serves.
 */
function checkUrl(raw: string, what: string): string {
  if (!WS_URL.test(raw)) {
    const hint = /^https?:\/\//.test(raw)
      ? `; write ${raw.replace(/^http/, "ws")} instead`
      : "; use ws://host:port/ws or wss://...";
    throw new UsageError(
      `${what} must be a ws:// or wss:// URL, got '${raw}'${hint}.`,
    );
  }
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new UsageError(
      `${what} is not a valid URL: '${raw}'; use ws://host:port/ws.`,
    );
  }
  if (url.pathname === "/" && !raw.endsWith("/")) url.pathname = "/ws";
  return url.href;
}

// A path in the config file: `~/` is the home directory, and a relative
// path is relative to the file.
function expandPath(file: string, configFile: string): string {
  const home = readEnv("HOME");
  const dir = configFile.slice(0, configFile.lastIndexOf("/") + 1);
  return file.startsWith("~/") && home
    ? `${home}/${file.slice(2)}`
    : file.startsWith("/")
    ? file
    : `${dir}${file}`;
}

async function readCa(file: string, what: string): Promise<string> {
  let text: string;
  try {
    text = await readBoundedText(file, { maxBytes: MAX_FILE_BYTES });
  } catch (error) {
    throw new UsageError(
      `${what} ${file} cannot be read (${
        (error as Error).message
      }); fix the path.`,
    );
  }
  if (!text.includes("-----BEGIN CERTIFICATE-----")) {
    throw new UsageError(
      `${what} ${file} holds no PEM certificate; give the CA's certificate (-----BEGIN CERTIFICATE-----).`,
    );
  }
  return text;
}

async function readToken(
  file: string,
  where: { path: string; name: string },
): Promise<string> {
  const full = expandPath(file, where.path);
  let token: string;
  try {
    token = (await readBoundedText(full, { maxBytes: MAX_FILE_BYTES })).trim();
  } catch (error) {
    throw new UsageError(
      `${where.path}: servers.${where.name}.token-file ${full} cannot be read (${
        (error as Error).message
      }); fix the path.`,
    );
  }
  if (!token) {
    throw new UsageError(
      `${where.path}: servers.${where.name}.token-file ${full} is empty; put the token in it.`,
    );
  }
  return token;
}
