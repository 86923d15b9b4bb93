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
import { redactUrl } from "../redact.ts";
import { readBoundedText } from "../files.ts";
import { UsageError } from "../flags.ts";
import type { Dialer, TlsOptions } from "../client/mod.ts";
import {
  configPath,
  expandPath,
  loadConfigFile,
  MAX_FILE_BYTES,
  WS_URL,
} from "./config_file.ts";

export { type ConfigFile, configPath, loadConfigFile } from "./config_file.ts";

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
  /**
   * The cluster itself instead of a server (`--context`, `--kubeconfig`,
   * or a config entry naming a context): laptop mode.
   */
  cluster?: ClusterTarget;
  /** Opens the connection instead of a WebSocket to `url`. */
  dial?: Dialer;
  /** Nothing named a server or a cluster: `url` is {@link DEFAULT_URL}. */
  defaulted?: boolean;
}

/** A kubeconfig context, or a kubeconfig file's current one, or both. */
export interface ClusterTarget {
  /** `--context`, or the config entry's `context`. */
  context?: string;
  /** `--kubeconfig`, or the config entry's `kubeconfig`. */
  kubeconfig?: string;
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
  /** `--context`. */
  context?: string;
  /** `--kubeconfig`. */
  kubeconfig?: string;
}

/** Where the server is when nothing says otherwise. */
export const DEFAULT_URL = "ws://localhost:9090/ws";

/**
 * Decides the server and token: `--url`, else `--server NAME`, else
 * `DORGU_WS_URL`, else the file's `current` server, else
 * {@link DEFAULT_URL}. The token is `--token`, else that of a server named
 * with `--server`, else `DORGU_WS_TOKEN`, else that of the current server.
 * `--context` or `--kubeconfig` name the cluster itself instead, as does a
 * config entry with a `context` or `kubeconfig`; never both a cluster and
 * a server.
 */
export async function resolveTarget(
  flags: TargetFlags,
  options: { path?: string } = {},
): Promise<Target> {
  const direct = clusterFromFlags(flags);
  if (direct) return { url: describeCluster(direct), cluster: direct };
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
      defaulted: true,
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
  if (server.url === undefined) {
    return clusterFromEntry(server, flags, { path: path!, name });
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

// The server-only flags given, by name.
function serverFlagsOf(flags: TargetFlags): string[] {
  return [
    flags.token !== undefined ? "--token" : "",
    flags.caFile !== undefined ? "--ca-file" : "",
    flags.insecure ? "--insecure-skip-tls-verify" : "",
  ].filter(Boolean);
}

// `--context`/`--kubeconfig`: the cluster, unless a server is named too.
function clusterFromFlags(flags: TargetFlags): ClusterTarget | undefined {
  if (flags.context === undefined && flags.kubeconfig === undefined) {
    return undefined;
  }
  const ours = flags.context !== undefined ? "--context" : "--kubeconfig";
  const server = flags.url !== undefined
    ? "--url"
    : flags.server !== undefined
    ? "--server"
    : flags.envUrl !== undefined
    ? "DORGU_WS_URL"
    : undefined;
  if (server) {
    throw new UsageError(
      `${server} names a dorgu-ws server and ${ours} the cluster itself; ${
        server === "DORGU_WS_URL"
          ? `unset DORGU_WS_URL or drop ${ours}`
          : "pass one of them"
      }.`,
    );
  }
  const [extra] = serverFlagsOf(flags);
  if (extra) {
    throw new UsageError(
      `${extra} applies to a dorgu-ws server; with ${ours} the kubeconfig's own credentials and CA are used, so drop ${extra}.`,
    );
  }
  return { context: flags.context, kubeconfig: flags.kubeconfig };
}

// A config entry that names a cluster (its `context`, `kubeconfig`).
function clusterFromEntry(
  server: { context?: string; kubeconfig?: string; namespace?: string },
  flags: TargetFlags,
  where: { path: string; name: string },
): Target {
  const [extra] = serverFlagsOf(flags);
  if (extra) {
    throw new UsageError(
      `${extra} applies to a dorgu-ws server, and ${where.path}: servers.${where.name} names a cluster (read with the kubeconfig's own credentials); drop ${extra}.`,
    );
  }
  const cluster = {
    context: server.context,
    kubeconfig: server.kubeconfig === undefined
      ? undefined
      : expandPath(server.kubeconfig, where.path),
  };
  return {
    url: describeCluster(cluster),
    cluster,
    namespace: server.namespace,
  };
}

/** How messages name a cluster target: `context prod`. */
export function describeCluster(cluster: ClusterTarget): string {
  const file = cluster.kubeconfig ? `kubeconfig ${cluster.kubeconfig}` : "";
  return cluster.context !== undefined
    ? `context ${cluster.context}${file ? ` of ${file}` : ""}`
    : `the current context of ${file}`;
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
      `${what} must be a ws:// or wss:// URL, got '${redactUrl(raw)}'${hint}.`,
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
