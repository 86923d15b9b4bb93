/**
 * Credentials for the Kubernetes API, the way kubectl finds them, turned
 * into what `fetch` needs: a server URL, request headers and TLS material
 * for `Deno.createHttpClient`. Kubeconfigs (contexts, merged KUBECONFIG
 * files), client certificates and CAs as data or files, bearer tokens and
 * token files, basic auth, impersonation, exec plugins and the oidc
 * auth-provider are read here (kubeconfig.ts, exec_credential.ts,
 * auth_provider.ts), as client-go reads them; a pod's service account from
 * its mounted files.
 *
 * Only credential loading happens here; requests are our own fetches.
 *
 * @module
 */
import { readBoundedText } from "../files.ts";
import { readEnv } from "../flags.ts";
import type { ExecCredentials } from "./exec_credential.ts";
import {
  type ClusterConfig,
  type FromFile,
  kubeconfigFiles,
  readKubeconfig,
  resolvePath,
  type UserConfig,
} from "./kubeconfig.ts";

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
  /** A proxy for requests to this cluster (`proxy-url`). */
  proxy?: string;
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
  /**
   * Whether a pod's service account is used when there is no kubeconfig;
   * default true. A client on a laptop reads kubeconfigs only.
   */
  inCluster?: boolean;
  /**
   * How long an exec credential plugin that does not get the terminal may
   * run, ms; default 60 s. One that does may wait for its user to log in.
   */
  execTimeoutMs?: number;
}

/** A context, resolved: its cluster and user, and where they came from. */
interface Selected {
  files: string[];
  context: string;
  describe: string;
  cluster: FromFile<ClusterConfig>;
  user: FromFile<UserConfig>;
}

const SERVICE_ACCOUNT = "/var/run/secrets/kubernetes.io/serviceaccount";
// Certificates, keys, CA bundles and tokens.
const MAX_FILE_BYTES = 1024 * 1024;

/**
 * Loads credentials. Call it before every connection, so rotated
 * credentials are picked up: token files, certificate and CA files are
 * read again each time, the kubeconfig whenever a file of it changes, an
 * exec plugin when its credential expires or was refused
 * ({@link CredentialLoader.invalidate}).
 */
export class CredentialLoader {
  #options: KubeConfigOptions;
  #selected: Selected | undefined;
  #fingerprint = "";
  #exec: ExecCredentials | undefined;

  /** Creates a loader; nothing is read until {@link CredentialLoader.load}. */
  constructor(options: KubeConfigOptions = {}) {
    this.#options = options;
  }

  /** Current credentials. Throws a one-line, actionable error. */
  async load(): Promise<KubeAccess> {
    const files = kubeconfigFiles(this.#options.kubeconfig);
    const fingerprint = fingerprintOf(files);
    if (!this.#selected || fingerprint !== this.#fingerprint) {
      this.#selected = files.length > 0
        ? await this.#select(files)
        : this.#inCluster();
      this.#fingerprint = fingerprint;
      this.#exec = undefined;
    }
    return await this.#access(this.#selected);
  }

  /** Forgets a plugin's credential the API server refused (401). */
  invalidate(): void {
    this.#exec?.invalidate();
  }

  async #select(files: string[]): Promise<Selected> {
    const config = await readKubeconfig(files);
    const name = this.#options.context ?? config.currentContext;
    const names = [...config.contexts.keys()].join(", ") || "none";
    if (name === undefined) {
      throw new Error(
        `The kubeconfig ${
          files.join(":")
        } has no current-context; pass --context NAME (it has ${names}).`,
      );
    }
    const context = config.contexts.get(name);
    if (!context) {
      throw new Error(
        `The kubeconfig has no context named ${name}; it has ${names}.`,
      );
    }
    if (!context.cluster) {
      throw new Error(
        `The kubeconfig's context ${name} names no cluster; fix the kubeconfig (kubectl config set-context ${name} --cluster NAME).`,
      );
    }
    const cluster = config.clusters.get(context.cluster);
    if (!cluster) {
      throw new Error(
        config.invalid.get(`cluster ${context.cluster}`) ??
          `The kubeconfig's context ${name} names the cluster ${context.cluster}, which it does not define; fix the kubeconfig.`,
      );
    }
    // No user (or an empty name, as kubectl config set-context writes):
    // anonymous, as kubectl goes.
    const user = !context.user
      ? { value: {}, dir: cluster.dir }
      : config.users.get(context.user);
    if (!user) {
      throw new Error(
        config.invalid.get(`user ${context.user}`) ??
          `The kubeconfig's context ${name} names the user ${context.user}, which it does not define; fix the kubeconfig.`,
      );
    }
    return {
      files,
      context: name,
      describe: `context ${name} (user ${context.user || "none"})`,
      cluster,
      user,
    };
  }

  // A pod's service account, from its mounted files.
  #inCluster(): Selected {
    const host = readEnv("KUBERNETES_SERVICE_HOST");
    if (this.#options.inCluster === false || !host) {
      const named = readEnv("KUBECONFIG");
      throw new Error(
        named
          ? `No kubeconfig: none of the files KUBECONFIG names (${named}) exists; fix KUBECONFIG, or pass --kubeconfig PATH.`
          : this.#options.inCluster === false
          ? "No kubeconfig: pass --kubeconfig, set KUBECONFIG, or create ~/.kube/config (the file kubectl reads)."
          : "No Kubernetes credentials: pass --kubeconfig, set KUBECONFIG, create ~/.kube/config, run inside a cluster, or use --source DIR for a directory of manifests.",
      );
    }
    const port = readEnv("KUBERNETES_SERVICE_PORT") ?? "443";
    const root = `${this.#options.inClusterRoot ?? ""}${SERVICE_ACCOUNT}`;
    const server = `https://${host.includes(":") ? `[${host}]` : host}:${port}`;
    return {
      files: [],
      context: "in-cluster",
      describe: "the pod's service account",
      cluster: {
        value: { server, "certificate-authority": `${root}/ca.crt` },
        dir: "/",
      },
      user: { value: { tokenFile: `${root}/token` }, dir: "/" },
    };
  }

  async #access(selected: Selected): Promise<KubeAccess> {
    const cluster = selected.cluster.value;
    const read = (path: string, what: string) =>
      readSmall(resolvePath(path, selected.cluster.dir), what, selected);
    const caCerts = cluster["certificate-authority-data"]
      ? [decode(cluster, "certificate-authority-data", selected)]
      : cluster["certificate-authority"]
      ? [await read(cluster["certificate-authority"], "certificate-authority")]
      : [];
    checkServerName(cluster, selected);
    const headers: Record<string, string> = cluster["disable-compression"]
      ? { "accept-encoding": "identity" }
      : {};
    // As kubectl (clientcmd reads a user's credentials only for a TLS
    // transport): an http:// server, such as kubectl proxy's, gets none,
    // so no token or password crosses the network in clear text.
    const user = new URL(cluster.server).protocol === "https:"
      ? await this.#user(selected, caCerts[0])
      : { headers: {} };
    checkHeaders(user.headers, selected);
    return {
      server: cluster.server.replace(/\/+$/, ""),
      headers: { ...headers, ...user.headers },
      caCerts,
      cert: user.cert,
      key: user.key,
      insecure: cluster["insecure-skip-tls-verify"] === true,
      proxy: cluster["proxy-url"],
      describe: selected.describe,
      context: selected.context,
    };
  }

  // The user's credential, in client-go's order: a token (or token file)
  // first, then an exec plugin, then an auth provider, then basic auth.
  async #user(
    selected: Selected,
    caData: string | undefined,
  ): Promise<{ headers: Record<string, string>; cert?: string; key?: string }> {
    const { value: user, dir } = selected.user;
    const read = (path: string, what: string) =>
      readSmall(resolvePath(path, dir), what, selected);
    const headers = impersonation(user, selected);
    let cert = user["client-certificate-data"]
      ? decode(user, "client-certificate-data", selected)
      : user["client-certificate"]
      ? await read(user["client-certificate"], "client-certificate")
      : undefined;
    let key = user["client-key-data"]
      ? decode(user, "client-key-data", selected)
      : user["client-key"]
      ? await read(user["client-key"], "client-key")
      : undefined;
    const tokenFile = user.tokenFile ?? user["token-file"];
    if (tokenFile) {
      headers.authorization = `Bearer ${
        (await read(tokenFile, "tokenFile")).trim()
      }`;
    } else if (user.token) {
      headers.authorization = `Bearer ${user.token}`;
    } else if (user.exec) {
      // Plugin and auth-provider code loads only for users that have one
      // (a plugin's own run costs far more than the load).
      if (!this.#exec) {
        const { ExecCredentials } = await import("./exec_credential.ts");
        this.#exec ??= new ExecCredentials(user.exec, {
          dir,
          describe: selected.describe,
          cluster: selected.cluster.value,
          caData,
          timeoutMs: this.#options.execTimeoutMs,
        });
      }
      const credential = await this.#exec.get();
      if (credential.token) {
        headers.authorization = `Bearer ${credential.token}`;
      }
      if (credential.cert && credential.key && !cert) {
        cert = credential.cert;
        key = credential.key;
      }
    } else if (user["auth-provider"]) {
      const { authProviderHeaders } = await import("./auth_provider.ts");
      Object.assign(
        headers,
        authProviderHeaders(user["auth-provider"], selected.describe),
      );
    } else if (user.username !== undefined && user.password !== undefined) {
      headers.authorization = `Basic ${
        btoa(`${user.username}:${user.password}`)
      }`;
    }
    return { headers, cert, key };
  }
}

function impersonation(
  user: UserConfig,
  selected: Selected,
): Record<string, string> {
  if (user["as-groups"]?.length) {
    throw new Error(
      `The kubeconfig's user of ${selected.describe} impersonates groups (as-groups), which dorgu-ws does not support; impersonate a user (as) instead.`,
    );
  }
  const headers: Record<string, string> = {};
  if (user.as) headers["impersonate-user"] = user.as;
  if (user["as-uid"]) headers["impersonate-uid"] = user["as-uid"];
  return headers;
}

// fetch refuses a header value with a line break or a control character
// and quotes the value in its error: a token would be printed. So such a
// value is refused here, unquoted.
function checkHeaders(
  headers: Record<string, string>,
  selected: Selected,
): void {
  for (const [name, value] of Object.entries(headers)) {
    // deno-lint-ignore no-control-regex
    if (/[\u0000-\u0008\u000a-\u001f\u007f]|[^\u0000-\u00ff]/.test(value)) {
      throw new Error(
        `The ${
          name === "authorization" ? "credential" : `${name} header`
        } of ${selected.describe} has a line break or another character an HTTP header cannot carry; fix the kubeconfig, or what its credential plugin prints.`,
      );
    }
  }
}

// Deno's TLS client checks the certificate against the URL's host; it has
// no way to check it against another name.
function checkServerName(cluster: ClusterConfig, selected: Selected): void {
  const name = cluster["tls-server-name"];
  if (name && name !== new URL(cluster.server).hostname) {
    throw new Error(
      `The kubeconfig's cluster of ${selected.describe} sets tls-server-name ${name}, which dorgu-ws cannot use (its TLS client checks the certificate against the server address); use a server address the certificate lists.`,
    );
  }
}

async function readSmall(
  path: string,
  what: string,
  selected: Selected,
): Promise<string> {
  try {
    return await readBoundedText(path, { maxBytes: MAX_FILE_BYTES });
  } catch (error) {
    throw new Error(
      `Cannot read the ${what} ${path} of ${selected.describe}: ${
        (error as Error).message
      }`,
    );
  }
}

function decode<K extends string>(
  entry: { [key in K]?: string },
  field: K,
  selected: Selected,
): string {
  try {
    return new TextDecoder().decode(
      Uint8Array.from(
        atob((entry[field] ?? "").replace(/\s+/g, "")),
        (c) => c.charCodeAt(0),
      ),
    );
  } catch {
    throw new Error(
      `The ${field} of ${selected.describe} is not base64; fix the kubeconfig.`,
    );
  }
}

// The files' modification times: a change means the kubeconfig must be
// read again (a new context, a renewed certificate).
function fingerprintOf(files: string[]): string {
  return files.map((file) => {
    try {
      return `${file}@${Deno.statSync(file).mtime?.getTime()}`;
    } catch {
      return `${file}@missing`;
    }
  }).join("|");
}
