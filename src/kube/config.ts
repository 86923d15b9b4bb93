/**
 * Credentials for the Kubernetes API, loaded with @kubernetes/client-node
 * (kubeconfig files, contexts, in-cluster service accounts, exec plugins,
 * OIDC, token files) and turned into what `fetch` needs: a server URL,
 * request headers and TLS material for `Deno.createHttpClient`.
 *
 * Only credential loading uses the library; requests are our own fetches.
 */
import "./node_compat.ts";
import { KubeConfig } from "@kubernetes/client-node";
import { readEnv } from "../flags.ts";

/** Everything a request to the API server needs. */
export interface KubeAccess {
  /** API server base URL, without a trailing slash. */
  server: string;
  /** Headers for every request (Authorization, when the user has one). */
  headers: Record<string, string>;
  /** CA certificates to trust, PEM. */
  caCerts: string[];
  /** Client certificate, PEM, for mTLS. */
  cert?: string;
  /** Client key, PEM, for mTLS. */
  key?: string;
  /** The kubeconfig says not to verify the server's certificate. */
  insecure: boolean;
  /** Context and user, for messages. */
  describe: string;
  /** The context's name (for the laptop dashboard's header). */
  context?: string;
}

/** Where credentials come from. */
export interface KubeConfigOptions {
  /** A kubeconfig file; default `$KUBECONFIG` (merged), `~/.kube/config`, in-cluster. */
  kubeconfig?: string;
  /** A context other than the current one. */
  context?: string;
  /** Root for the in-cluster service-account files (tests). */
  inClusterRoot?: string;
}

/**
 * Loads credentials. Call it before every connection, so rotated
 * credentials are picked up. Static credentials (tokens, token files,
 * certificate files) are simply read again each time. Exec plugins and auth
 * providers (in-cluster token files, OIDC) keep their own caches and
 * refresh near expiry, so for them the loaded kubeconfig is kept, and
 * rebuilt only when a kubeconfig file changes.
 */
export class CredentialLoader {
  #options: KubeConfigOptions;
  #config: KubeConfig | undefined;
  #fingerprint = "";
  #caching = false;

  /** Creates a loader; nothing is read until {@link CredentialLoader.load}. */
  constructor(options: KubeConfigOptions = {}) {
    this.#options = options;
  }

  /** Current credentials. Throws a one-line, actionable error. */
  async load(): Promise<KubeAccess> {
    const fingerprint = this.#sourceFingerprint();
    if (!this.#config || !this.#caching || fingerprint !== this.#fingerprint) {
      this.#config = this.#build();
      this.#fingerprint = fingerprint;
      const user = this.#config.getCurrentUser();
      this.#caching = !!(user?.exec || user?.authProvider);
    }
    return await toAccess(this.#config);
  }

  #kubeconfigFiles(): string[] {
    if (this.#options.kubeconfig) return [this.#options.kubeconfig];
    const env = readEnv("KUBECONFIG");
    if (env) return env.split(":").filter(Boolean);
    const home = readEnv("HOME");
    const file = home ? `${home}/.kube/config` : undefined;
    return file && exists(file) ? [file] : [];
  }

  // The files' modification times: a change means the kubeconfig must be
  // read again (a new context, a renewed certificate).
  #sourceFingerprint(): string {
    return this.#kubeconfigFiles().map((file) => {
      try {
        return `${file}@${Deno.statSync(file).mtime?.getTime()}`;
      } catch {
        return `${file}@missing`;
      }
    }).join("|");
  }

  #build(): KubeConfig {
    const config = new KubeConfig();
    const files = this.#kubeconfigFiles();
    if (files.length > 0) {
      for (const file of files) {
        if (!exists(file)) {
          throw new Error(
            `The kubeconfig ${file} does not exist; check --kubeconfig or KUBECONFIG.`,
          );
        }
      }
      try {
        config.loadFromFile(files[0]);
        for (const file of files.slice(1)) {
          const next = new KubeConfig();
          next.loadFromFile(file);
          mergeLikeKubectl(config, next);
        }
      } catch (error) {
        throw new Error(
          `Cannot read the kubeconfig ${files.join(":")}: ${
            (error as Error).message
          }`,
        );
      }
    } else if (readEnv("KUBERNETES_SERVICE_HOST")) {
      config.loadFromCluster(this.#options.inClusterRoot);
    } else {
      throw new Error(
        "No Kubernetes credentials: pass --kubeconfig, set KUBECONFIG, create ~/.kube/config, run inside a cluster, or use --source DIR for a directory of manifests.",
      );
    }
    if (this.#options.context) {
      if (!config.getContextObject(this.#options.context)) {
        throw new Error(
          `The kubeconfig has no context named ${this.#options.context}; it has ${
            config.getContexts().map((c) => c.name).join(", ") || "none"
          }.`,
        );
      }
      config.setCurrentContext(this.#options.context);
    }
    if (!config.getCurrentCluster()) {
      throw new Error(
        "The kubeconfig's current context names no cluster; pass --context or fix current-context.",
      );
    }
    return config;
  }
}

/**
 * Merges `next` into `config` the way kubectl merges KUBECONFIG files: the
 * first file to name a cluster, user or context wins, and so does the first
 * file with a current-context.
 */
function mergeLikeKubectl(config: KubeConfig, next: KubeConfig): void {
  if (!config.currentContext && next.currentContext) {
    config.setCurrentContext(next.currentContext);
  }
  const has = (list: { name: string }[], name: string) =>
    list.some((item) => item.name === name);
  for (const cluster of next.clusters) {
    if (!has(config.clusters, cluster.name)) config.addCluster(cluster);
  }
  for (const user of next.users) {
    if (!has(config.users, user.name)) config.addUser(user);
  }
  for (const context of next.contexts) {
    if (!has(config.contexts, context.name)) config.addContext(context);
  }
}

interface AppliedOptions {
  ca?: Uint8Array | string;
  cert?: Uint8Array | string;
  key?: Uint8Array | string;
  rejectUnauthorized?: boolean;
  headers?: Record<string, string>;
  auth?: string;
}

async function toAccess(config: KubeConfig): Promise<KubeAccess> {
  const cluster = config.getCurrentCluster();
  if (!cluster) {
    throw new Error("The kubeconfig's current context names no cluster.");
  }
  const applied: AppliedOptions = {};
  try {
    // Runs exec plugins, OIDC refresh and token files as kubectl would.
    await config.applyToHTTPSOptions(applied as never);
  } catch (error) {
    // A plugin's stderr ends in a newline, or is empty.
    throw new Error(
      `Cannot get credentials for context ${config.getCurrentContext()}: ${
        (error as Error).message.trim() ||
        "its credential plugin failed without saying why"
      }`,
    );
  }
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(applied.headers ?? {})) {
    headers[name.toLowerCase()] = String(value);
  }
  if (applied.auth) headers.authorization = `Basic ${btoa(applied.auth)}`;
  const user = config.getCurrentUser();
  return {
    server: cluster.server.replace(/\/+$/, ""),
    headers,
    caCerts: applied.ca ? [text(applied.ca)] : [],
    cert: applied.cert ? text(applied.cert) : undefined,
    key: applied.key ? text(applied.key) : undefined,
    insecure: cluster.skipTLSVerify === true,
    describe: `context ${config.getCurrentContext()} (user ${
      user?.name ?? "none"
    })`,
    context: config.getCurrentContext(),
  };
}

function text(value: Uint8Array | string): string {
  return typeof value === "string" ? value : new TextDecoder().decode(value);
}

function exists(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
}
