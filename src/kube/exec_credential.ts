/**
 * Exec credential plugins (EKS, GKE, AKS, OIDC login helpers), run the way
 * client-go runs them: the command with its args and env, and
 * `KUBERNETES_EXEC_INFO` describing the request (and the cluster, with
 * `provideClusterInfo`); the plugin's stderr goes to the terminal and its
 * stdin is the user's when it may be interactive, so a login prompt works;
 * its stdout must be an `ExecCredential` of the apiVersion asked for
 * (client.authentication.k8s.io/v1 or v1beta1) with a token or a client
 * certificate. The credential is kept until its `expirationTimestamp`, or
 * until the API server refuses it. A missing command is one line with the
 * kubeconfig's `installHint`.
 *
 * @module
 */
import * as v from "valibot";
import type { ClusterConfig, ExecConfig } from "./kubeconfig.ts";
import { startTimer } from "../timer.ts";

const API_VERSIONS = [
  "client.authentication.k8s.io/v1",
  "client.authentication.k8s.io/v1beta1",
];

const CredentialSchema = v.object({
  apiVersion: v.string(),
  kind: v.literal("ExecCredential"),
  status: v.object({
    token: v.optional(v.string()),
    clientCertificateData: v.optional(v.string()),
    clientKeyData: v.optional(v.string()),
    expirationTimestamp: v.optional(v.string()),
  }),
});

// An ExecCredential is a few KiB, even with a certificate chain in it.
const MAX_OUTPUT_BYTES = 1024 * 1024;

/** How long a plugin without the terminal may run, by default. */
export const EXEC_TIMEOUT_MS = 60_000;

/** What a plugin handed back. */
export interface ExecResult {
  /** Bearer token. */
  token?: string;
  /** Client certificate, PEM. */
  cert?: string;
  /** Client key, PEM. */
  key?: string;
  /** When to run the plugin again, ms since the epoch; undefined: on a 401. */
  expiresAt?: number;
}

/** Where the plugin is described, for messages and relative commands. */
export interface ExecContext {
  /** The kubeconfig's directory: a command with a slash is relative to it. */
  dir: string;
  /** `context NAME (user USER)`. */
  describe: string;
  /** The cluster, for `provideClusterInfo`. */
  cluster: ClusterConfig;
  /** Its CA, PEM, for `provideClusterInfo`. */
  caData?: string;
  /**
   * How long a run without the terminal may take before the plugin is
   * stopped, ms; default {@link EXEC_TIMEOUT_MS}.
   */
  timeoutMs?: number;
}

/** Runs one user's plugin and keeps its credential while it is valid. */
export class ExecCredentials {
  #exec: ExecConfig;
  #context: ExecContext;
  #cached: ExecResult | undefined;
  #running: Promise<ExecResult> | undefined;

  /** Creates the runner; the plugin runs on the first {@link get}. */
  constructor(exec: ExecConfig, context: ExecContext) {
    this.#exec = exec;
    this.#context = context;
  }

  /** The current credential, running the plugin when there is none. */
  get(): Promise<ExecResult> {
    const cached = this.#cached;
    // A minute's margin, as client-go renews ahead of expiry too.
    if (
      cached &&
      (cached.expiresAt === undefined || cached.expiresAt - 60_000 > Date.now())
    ) {
      return Promise.resolve(cached);
    }
    this.#running ??= this.#run().then((result) => {
      this.#cached = result;
      return result;
    }).finally(() => this.#running = undefined);
    return this.#running;
  }

  /** Forgets the credential (the API server refused it). */
  invalidate(): void {
    this.#cached = undefined;
  }

  async #run(): Promise<ExecResult> {
    const exec = this.#exec;
    const apiVersion = exec.apiVersion ?? API_VERSIONS[1];
    const what =
      `The credential plugin ${exec.command} of ${this.#context.describe}`;
    if (!API_VERSIONS.includes(apiVersion)) {
      throw new Error(
        `${what} asks for apiVersion ${apiVersion}; client.authentication.k8s.io/v1 and v1beta1 are supported.`,
      );
    }
    const interactive = this.#interactive(apiVersion, what);
    let child: Deno.ChildProcess;
    try {
      child = new Deno.Command(this.#command(), {
        args: exec.args ?? [],
        env: {
          ...Object.fromEntries((exec.env ?? []).map((e) => [e.name, e.value])),
          KUBERNETES_EXEC_INFO: JSON.stringify(
            this.#info(apiVersion, interactive),
          ),
        },
        stdin: interactive ? "inherit" : "null",
        stdout: "piped",
        stderr: "inherit",
      }).spawn();
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) {
        const hint = exec.installHint?.trim().replace(/\s*\n\s*/g, " ");
        throw new Error(
          `${what} is not installed (no such command)${
            hint
              ? `: ${hint}`
              : "; install it, or fix exec.command in the kubeconfig"
          }`,
        );
      }
      throw new Error(`${what} could not run: ${(error as Error).message}`);
    }
    // With the terminal, the user may be logging in and can Ctrl-C it;
    // without, nobody can answer it, so it gets the client's deadline.
    const output = await collect(child, {
      what,
      timeoutMs: interactive
        ? undefined
        : this.#context.timeoutMs ?? EXEC_TIMEOUT_MS,
    });
    if (!output.success) {
      throw new Error(
        `${what} failed (exit code ${output.code}); its messages are above.`,
      );
    }
    return this.#read(
      new TextDecoder().decode(output.stdout),
      apiVersion,
      what,
    );
  }

  // Whether the plugin gets the terminal: client-go's rules.
  #interactive(apiVersion: string, what: string): boolean {
    const mode = this.#exec.interactiveMode ??
      (apiVersion.endsWith("/v1") ? undefined : "IfAvailable");
    if (mode === undefined) {
      throw new Error(
        `${what} uses client.authentication.k8s.io/v1, which needs exec.interactiveMode (Never, IfAvailable or Always); set it in the kubeconfig.`,
      );
    }
    const terminal = Deno.stdin.isTerminal();
    if (mode === "Always" && !terminal) {
      throw new Error(
        `${what} needs a terminal (interactiveMode: Always), and standard input is not one.`,
      );
    }
    return mode !== "Never" && terminal;
  }

  #command(): string {
    const command = this.#exec.command;
    return command.includes("/") && !command.startsWith("/")
      ? `${this.#context.dir}${command}`
      : command;
  }

  #info(apiVersion: string, interactive: boolean): unknown {
    const { cluster, caData } = this.#context;
    return {
      apiVersion,
      kind: "ExecCredential",
      spec: {
        interactive,
        ...(this.#exec.provideClusterInfo
          ? {
            cluster: {
              server: cluster.server,
              "tls-server-name": cluster["tls-server-name"],
              "insecure-skip-tls-verify": cluster["insecure-skip-tls-verify"],
              "certificate-authority-data": caData && btoa(caData),
              "proxy-url": cluster["proxy-url"],
              config: cluster.extensions?.find((e) =>
                e.name === "client.authentication.k8s.io/exec"
              )?.extension,
            },
          }
          : {}),
      },
    };
  }

  #read(stdout: string, apiVersion: string, what: string): ExecResult {
    let parsed: unknown;
    try {
      parsed = JSON.parse(stdout);
    } catch {
      throw new Error(`${what} printed something that is not JSON.`);
    }
    const result = v.safeParse(CredentialSchema, parsed);
    if (!result.success) {
      // What was expected, never what was printed: that may be a token.
      const issue = result.issues[0];
      throw new Error(
        `${what} printed no ExecCredential (${
          v.getDotPath(issue) ?? "the object"
        }: expected ${issue.expected ?? "something else"}).`,
      );
    }
    const { status } = result.output;
    if (result.output.apiVersion !== apiVersion) {
      throw new Error(
        `${what} answered with apiVersion ${result.output.apiVersion}, not the ${apiVersion} it was asked for.`,
      );
    }
    const certificate = status.clientCertificateData && status.clientKeyData;
    if (!status.token && !certificate) {
      throw new Error(
        `${what} printed an ExecCredential with neither a token nor a client certificate and key.`,
      );
    }
    const expiresAt = status.expirationTimestamp
      ? Date.parse(status.expirationTimestamp)
      : undefined;
    return {
      token: status.token,
      cert: status.clientCertificateData,
      key: status.clientKeyData,
      expiresAt: Number.isNaN(expiresAt) ? undefined : expiresAt,
    };
  }
}

/**
 * The plugin's exit and what it printed, read as it comes: past
 * {@link MAX_OUTPUT_BYTES}, or past `timeoutMs`, the plugin is killed and
 * the run fails with one line.
 */
async function collect(
  child: Deno.ChildProcess,
  options: { what: string; timeoutMs?: number },
): Promise<{ success: boolean; code: number; stdout: Uint8Array }> {
  const { what, timeoutMs } = options;
  const reader = child.stdout.getReader();
  let stopped: string | undefined;
  const stop = (why: string) => {
    stopped ??= why;
    try {
      child.kill("SIGKILL");
    } catch {
      // Already gone.
    }
    reader.cancel().catch(() => {});
  };
  // Not setTimeout: see timer.ts (this runs before `get`'s first request).
  const cancel = timeoutMs === undefined ? undefined : startTimer(
    timeoutMs,
    () =>
      stop(
        `did not finish within ${
          timeoutMs / 1000
        } s, so it was stopped; one that waits for a login needs to run from a terminal`,
      ),
  );
  const chunks: Uint8Array[] = [];
  let total = 0;
  try {
    while (true) {
      // A cancelled read (the plugin was stopped) ends the loop too.
      const { value } = await reader.read().catch(() => ({ value: undefined }));
      if (value === undefined || stopped) break;
      total += value.length;
      if (total > MAX_OUTPUT_BYTES) {
        stop(
          `printed more than ${
            MAX_OUTPUT_BYTES / 1024 / 1024
          } MiB; it was stopped (an ExecCredential is a few KiB)`,
        );
        break;
      }
      chunks.push(value);
    }
    const status = await child.status;
    if (stopped) throw new Error(`${what} ${stopped}.`);
    const stdout = new Uint8Array(total);
    let at = 0;
    for (const chunk of chunks) {
      stdout.set(chunk, at);
      at += chunk.length;
    }
    return { success: status.success, code: status.code, stdout };
  } finally {
    cancel?.();
  }
}
