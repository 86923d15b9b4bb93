/**
 * The client's config file, `$XDG_CONFIG_HOME/dorgu-ws/config.yaml` (else
 * `~/.config/dorgu-ws/config.yaml`): named dorgu-ws servers, and named
 * clusters read straight from a kubeconfig context (laptop mode), read and
 * validated as a whole, so a fault is one line naming the file.
 *
 * @module
 */
import * as v from "valibot";
import { FileRefused, readBoundedText } from "../files.ts";
import { readEnv, UsageError } from "../flags.ts";
import { NamespaceSchema } from "../protocol/mod.ts";

/** The config, a token file or a CA bundle: small files, read in full. */
export const MAX_FILE_BYTES = 1024 * 1024;

/** What a dorgu-ws server URL starts with. */
export const WS_URL = /^wss?:\/\/[^/]/;

const ServerSchema = v.strictObject({
  url: v.optional(v.pipe(
    v.string("url must be a string"),
    v.regex(WS_URL, "url must be a ws:// or wss:// URL"),
  )),
  context: v.optional(
    v.pipe(
      v.string("context must name a kubeconfig context"),
      v.minLength(1, "context must not be empty"),
    ),
  ),
  kubeconfig: v.optional(v.string("kubeconfig must be a path")),
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
      }; a server has url, token, token-file, namespace, ca-file and insecure-skip-tls-verify, or context, kubeconfig and namespace`
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
    checkServerKind(server, `${path}: servers.${name}`);
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

type ServerEntry = ConfigFile["servers"][string];

// An entry is a dorgu-ws server (url) or a cluster (context, kubeconfig),
// never both, and server settings never go with a cluster.
function checkServerKind(server: ServerEntry, where: string): void {
  const cluster = server.context !== undefined ||
    server.kubeconfig !== undefined;
  if (server.url === undefined && !cluster) {
    throw new UsageError(
      `${where} has no url, context or kubeconfig; give the url of a dorgu-ws server or the kubeconfig context of a cluster.`,
    );
  }
  if (server.url !== undefined && cluster) {
    throw new UsageError(
      `${where} has both url and ${
        server.context !== undefined ? "context" : "kubeconfig"
      }: a url names a dorgu-ws server, a context the cluster itself; keep one.`,
    );
  }
  const serverOnly = [
    "token",
    "token-file",
    "ca-file",
    "insecure-skip-tls-verify",
  ]
    .find((key) => server[key as keyof ServerEntry] !== undefined);
  if (cluster && serverOnly) {
    throw new UsageError(
      `${where} names a cluster, which is read with the kubeconfig's own credentials: ${serverOnly} applies to a dorgu-ws server (url) only; drop it.`,
    );
  }
}

// A path in the config file: `~/` is the home directory, and a relative
// path is relative to the file.
export function expandPath(file: string, configFile: string): string {
  const home = readEnv("HOME");
  const dir = configFile.slice(0, configFile.lastIndexOf("/") + 1);
  return file.startsWith("~/") && home
    ? `${home}/${file.slice(2)}`
    : file.startsWith("/")
    ? file
    : `${dir}${file}`;
}
