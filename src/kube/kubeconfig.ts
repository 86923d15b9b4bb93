/**
 * Kubeconfig files, read the way kubectl reads them: `--kubeconfig`, else
 * every file in `$KUBECONFIG` merged (the first file to name a cluster,
 * user or context wins, and the first with a `current-context`; missing
 * files are skipped), else `~/.kube/config`. Paths in a file (CA,
 * certificates, token files, exec commands with a slash) are relative to
 * that file. JSON is parsed as JSON; YAML with js-yaml.
 *
 * @module
 */
import * as v from "valibot";
import { readBoundedText } from "../files.ts";
import { readEnv } from "../flags.ts";

// Kubeconfigs with hundreds of contexts stay far below this.
const MAX_KUBECONFIG_BYTES = 8 * 1024 * 1024;
// kubectl writes none; a downloaded kubeconfig full of nested aliases
// would make every walk over it multiply (see sources/manifests.ts).
const MAX_YAML_ALIASES = 100;

const text = v.optional(v.string());
const NamedEnv = v.object({ name: v.string(), value: v.string() });

const ExecSchema = v.object({
  command: v.pipe(v.string(), v.minLength(1, "exec.command is empty")),
  args: v.optional(v.array(v.string())),
  env: v.optional(v.nullable(v.array(NamedEnv))),
  apiVersion: text,
  installHint: text,
  provideClusterInfo: v.optional(v.boolean()),
  interactiveMode: v.optional(v.picklist(["Never", "IfAvailable", "Always"])),
});

/** An `exec` credential plugin, as the kubeconfig describes it. */
export type ExecConfig = v.InferOutput<typeof ExecSchema>;

const ClusterSchema = v.object({
  server: v.pipe(v.string(), v.url("server must be a URL")),
  "certificate-authority": text,
  "certificate-authority-data": text,
  "insecure-skip-tls-verify": v.optional(v.boolean()),
  "tls-server-name": text,
  "proxy-url": text,
  "disable-compression": v.optional(v.boolean()),
});

/** A kubeconfig cluster entry. */
export type ClusterConfig = v.InferOutput<typeof ClusterSchema>;

const UserSchema = v.object({
  "client-certificate": text,
  "client-certificate-data": text,
  "client-key": text,
  "client-key-data": text,
  token: text,
  tokenFile: text,
  // kubectl's spelling is tokenFile; @kubernetes/client-node also reads
  // this one, and kubeconfigs written for it do.
  "token-file": text,
  username: text,
  password: text,
  as: text,
  "as-uid": text,
  "as-groups": v.optional(v.nullable(v.array(v.string()))),
  exec: v.optional(v.nullable(ExecSchema)),
  "auth-provider": v.optional(v.nullable(v.object({
    name: v.string(),
    config: v.optional(v.nullable(v.record(v.string(), v.string()))),
  }))),
});

/** A kubeconfig user entry. */
export type UserConfig = v.InferOutput<typeof UserSchema>;

const list = <T extends v.GenericSchema>(entry: T) =>
  v.optional(v.nullable(v.array(entry)));

const FileSchema = v.object({
  clusters: list(
    v.object({ name: v.string(), cluster: v.optional(ClusterSchema) }),
  ),
  users: list(
    v.object({ name: v.string(), user: v.optional(v.nullable(UserSchema)) }),
  ),
  contexts: list(v.object({
    name: v.string(),
    context: v.optional(
      v.object({ cluster: v.string(), user: text, namespace: text }),
    ),
  })),
  "current-context": text,
});

/** An entry and the directory of the file it came from. */
export interface FromFile<T> {
  /** The entry. */
  value: T;
  /** Where relative paths in it start. */
  dir: string;
}

/** The kubeconfig files, merged. */
export interface Kubeconfig {
  /** The files read, in order. */
  files: string[];
  /** Clusters by name. */
  clusters: Map<string, FromFile<ClusterConfig>>;
  /** Users by name. */
  users: Map<string, FromFile<UserConfig>>;
  /** Contexts by name. */
  contexts: Map<string, { cluster: string; user?: string; namespace?: string }>;
  /** The current context, if any file names one. */
  currentContext?: string;
}

/**
 * The files a kubeconfig is read from: `explicit` (which must exist), else
 * the existing files of `$KUBECONFIG`, else `~/.kube/config` if it exists.
 */
export function kubeconfigFiles(explicit?: string): string[] {
  if (explicit) return [explicit];
  const env = readEnv("KUBECONFIG");
  const candidates = env
    ? env.split(":").filter(Boolean)
    : readEnv("HOME")
    ? [`${readEnv("HOME")}/.kube/config`]
    : [];
  return candidates.filter(exists);
}

/** Reads and merges `files`. Throws one line naming the file and fault. */
export async function readKubeconfig(files: string[]): Promise<Kubeconfig> {
  const merged: Kubeconfig = {
    files,
    clusters: new Map(),
    users: new Map(),
    contexts: new Map(),
  };
  for (const file of files) {
    const parsed = await parseFile(file);
    const dir = file.slice(0, file.lastIndexOf("/") + 1) || "./";
    merged.currentContext ||= parsed["current-context"] || undefined;
    for (const { name, cluster } of parsed.clusters ?? []) {
      if (cluster && !merged.clusters.has(name)) {
        merged.clusters.set(name, { value: cluster, dir });
      }
    }
    for (const { name, user } of parsed.users ?? []) {
      if (!merged.users.has(name)) {
        merged.users.set(name, { value: user ?? {}, dir });
      }
    }
    for (const { name, context } of parsed.contexts ?? []) {
      if (context && !merged.contexts.has(name)) {
        merged.contexts.set(name, context);
      }
    }
  }
  return merged;
}

async function parseFile(
  file: string,
): Promise<v.InferOutput<typeof FileSchema>> {
  let raw: unknown;
  try {
    const content = await readBoundedText(file, {
      maxBytes: MAX_KUBECONFIG_BYTES,
    });
    raw = /^\s*\{/.test(content)
      ? JSON.parse(content)
      : (await import("js-yaml")).load(content, {
        filename: file,
        maxAliases: MAX_YAML_ALIASES,
      });
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) {
      throw new Error(
        `The kubeconfig ${file} does not exist; check --kubeconfig or KUBECONFIG.`,
      );
    }
    // js-yaml quotes the lines around a fault; its first line says it.
    throw new Error(
      `Cannot read the kubeconfig ${file}: ${
        (error as Error).message.split("\n")[0]
      }; fix the file.`,
    );
  }
  const result = v.safeParse(FileSchema, raw ?? {});
  if (!result.success) {
    const issue = result.issues[0];
    const where = v.getDotPath(issue);
    throw new Error(
      `The kubeconfig ${file} is not valid: ${where ? `${where}: ` : ""}${
        issue.message.replace(/\.$/, "")
      }; fix the file.`,
    );
  }
  return result.output;
}

/** A path from a kubeconfig, resolved against the file's directory. */
export function resolvePath(path: string, dir: string): string {
  if (path.startsWith("/")) return path;
  if (path.startsWith("~/") && readEnv("HOME")) {
    return `${readEnv("HOME")}/${path.slice(2)}`;
  }
  return `${dir}${path}`;
}

function exists(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
}
