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
  // The entry named client.authentication.k8s.io/exec is handed to exec
  // plugins with provideClusterInfo.
  extensions: v.optional(v.nullable(v.array(
    v.object({ name: v.string(), extension: v.unknown() }),
  ))),
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

// Each cluster and user is checked on its own (entryProblem): kubectl
// reads a file with an unused entry it cannot use (`kubectl config
// set-cluster foo` writes one without a server) and fails only when a
// context uses it.
const FileSchema = v.object({
  clusters: list(v.object({ name: v.string(), cluster: v.unknown() })),
  users: list(v.object({ name: v.string(), user: v.unknown() })),
  contexts: list(v.object({
    name: v.string(),
    context: v.optional(
      v.object({ cluster: text, user: text, namespace: text }),
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
  contexts: Map<
    string,
    { cluster?: string; user?: string; namespace?: string }
  >;
  /**
   * Clusters (`cluster NAME`) and users (`user NAME`) that are not valid,
   * with the one line to show when a context uses one.
   */
  invalid: Map<string, string>;
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
    invalid: new Map(),
  };
  for (const file of files) {
    const parsed = await parseFile(file);
    const dir = file.slice(0, file.lastIndexOf("/") + 1) || "./";
    merged.currentContext ||= parsed["current-context"] || undefined;
    (parsed.clusters ?? []).forEach(({ name, cluster }, i) => {
      if (cluster === undefined || cluster === null) return;
      merge(merged.clusters, merged.invalid, `cluster ${name}`, {
        name,
        entry: v.safeParse(ClusterSchema, cluster),
        file,
        at: `clusters.${i}.cluster`,
        dir,
      });
    });
    (parsed.users ?? []).forEach(({ name, user }, i) => {
      merge(merged.users, merged.invalid, `user ${name}`, {
        name,
        entry: v.safeParse(UserSchema, user ?? {}),
        file,
        at: `users.${i}.user`,
        dir,
      });
    });
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
      ? parseJson(content)
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
  if (!result.success) throw new Error(entryProblem(file, "", result.issues));
  return result.output;
}

// V8 quotes the text around a syntax error ("Unexpected token 'a',
// ..."{"token": abc123..."... is not valid JSON"): a token would be
// printed. Only its messages that quote none of the text are kept.
function parseJson(content: string): unknown {
  try {
    return JSON.parse(content);
  } catch (error) {
    const message = (error as Error).message;
    throw new SyntaxError(
      message.includes('"')
        ? "it is not valid JSON (a value that is not quoted, or a stray character)"
        : message,
    );
  }
}

// The first file to name an entry wins, valid or not, as in kubectl.
function merge<T>(
  valid: Map<string, FromFile<T>>,
  invalid: Map<string, string>,
  key: string,
  from: {
    name: string;
    entry: v.SafeParseResult<v.GenericSchema<unknown, T>>;
    file: string;
    at: string;
    dir: string;
  },
): void {
  if (valid.has(from.name) || invalid.has(key)) return;
  if (from.entry.success) {
    valid.set(from.name, { value: from.entry.output, dir: from.dir });
    return;
  }
  invalid.set(key, entryProblem(from.file, from.at, from.entry.issues));
}

// One line naming the file, where in it (`at`, then the issue's own
// path) and the fault.
function entryProblem(
  file: string,
  at: string,
  issues: [v.BaseIssue<unknown>, ...v.BaseIssue<unknown>[]],
): string {
  const issue = issues[0];
  const where = [at, v.getDotPath(issue)].filter(Boolean).join(".");
  // A wrong type says what was expected, not what was there: a password
  // or token YAML read as a number would be printed.
  const fault = issue.kind === "schema"
    ? `expected ${issue.expected}`
    : issue.message.replace(/\.$/, "");
  return `The kubeconfig ${file} is not valid: ${
    where ? `${where}: ` : ""
  }${fault}; fix the file.`;
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
