/**
 * `dorgu-ws version`: this build, and the server's when one is named
 * (`--url`, `--server` or `DORGU_WS_URL`), read from its `GET /version`.
 *
 * @module
 */
import { redactUrl } from "../redact.ts";
import {
  formatFlags,
  parseChoice,
  parseDuration,
  parseFlags,
  sourceOf,
  UsageError,
} from "../flags.ts";
import { type BuildInfo, buildInfo } from "../version.ts";
import { CLIENT_FLAGS, flagsOf } from "./client_flags.ts";
import type { TlsOptions } from "../client/mod.ts";
import { ClientError } from "./errors.ts";
import { writeLine } from "./output.ts";

const USAGE =
  `Usage: dorgu-ws version [-o json|yaml] [--url URL | --server NAME]

Prints this client's version, commit, Deno version and target; with --url,
--server or DORGU_WS_URL, the server's too (from its /version).

Examples:
  dorgu-ws version
  dorgu-ws version --server prod
  dorgu-ws version --url ws://localhost:9090/ws -o json

Flags:
${formatFlags(flagsOf("version"))}`;

/** Runs `version`; resolves to the exit code. */
export async function runVersion(args: string[]): Promise<number> {
  const parsed = parseFlags(args, flagsOf("version"), {
    command: "dorgu-ws version",
  });
  const { values, positionals } = parsed;
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  if (positionals.length > 0) {
    throw new UsageError(
      `Unexpected argument '${positionals[0]}'; run 'dorgu-ws version --help'.`,
    );
  }
  const output = values.output === undefined
    ? "text"
    : parseChoice(String(values.output), sourceOf(parsed, "output"), {
      choices: ["json", "yaml"],
    });
  const timeoutMs = parseDuration(
    String(values.timeout ?? CLIENT_FLAGS.timeout.default),
    sourceOf(parsed, "timeout"),
  );
  const client = buildInfo();
  const url = values.url as string | undefined;
  const named = url !== undefined || values.server !== undefined;
  let server: BuildInfo | undefined;
  let failure: string | undefined;
  if (named) {
    // Only now: reading the config file and the server costs start-up time.
    const { resolveTarget } = await import("./settings.ts");
    const target = await resolveTarget({
      url: parsed.sources.url === "--url" ? url : undefined,
      envUrl: parsed.sources.url === "DORGU_WS_URL" ? url : undefined,
      server: values.server as string | undefined,
      caFile: values["ca-file"] as string | undefined,
      insecure: values["insecure-skip-tls-verify"] === true,
    });
    try {
      server = await serverVersion(target.url, { timeoutMs, tls: target.tls });
    } catch (error) {
      failure = (error as Error).message;
    }
  }
  if (output === "text") {
    writeLine(`Client Version: ${describe(client)}`);
    if (server) writeLine(`Server Version: ${describe(server)}`);
  } else {
    const document = {
      clientVersion: client,
      ...(server ? { serverVersion: server } : {}),
    };
    if (output === "json") writeLine(JSON.stringify(document, null, 2));
    else {
      const { dump } = await import("js-yaml");
      writeLine(dump(document).trimEnd());
    }
  }
  if (failure) throw new ClientError(failure);
  return 0;
}

function describe(info: BuildInfo): string {
  return `${info.version} (commit ${info.commit}, Deno ${info.deno}, ${info.target})`;
}

/** The server's `/version`, found beside its WebSocket path. */
async function serverVersion(
  wsUrl: string,
  options: { timeoutMs: number; tls?: TlsOptions },
): Promise<BuildInfo> {
  const { timeoutMs } = options;
  const url = new URL(wsUrl);
  const tls = url.protocol === "wss:" ? options.tls : undefined;
  url.protocol = url.protocol === "wss:" ? "https:" : "http:";
  url.pathname = url.pathname.replace(/\/ws$/, "") + "/version";
  let response: { status: number; ok: boolean; body: string };
  try {
    response = tls?.insecure
      ? await getUnverified(url, timeoutMs)
      : await getVerified(url, { timeoutMs, caCerts: tls?.caCerts });
  } catch (error) {
    const reason = (error as Error).name === "TimeoutError"
      ? `no answer within ${timeoutMs / 1000} s`
      : (error as Error).message.replace(/^error sending request[^:]*: /, "");
    throw new ClientError(
      `Cannot read the server's version from ${
        redactUrl(url.href)
      }: ${reason}.`,
    );
  }
  const body = response.body;
  const v = await import("valibot");
  const BuildInfoSchema = v.object({
    version: v.string(),
    commit: v.string(),
    deno: v.string(),
    target: v.string(),
  });
  const parsed = response.ok
    ? v.safeParse(BuildInfoSchema, safeJson(body))
    : undefined;
  if (!parsed?.success) {
    throw new ClientError(
      `${
        redactUrl(url.href)
      } did not answer with a version (HTTP ${response.status}); is it a dorgu-ws server recent enough to serve /version?`,
    );
  }
  return parsed.output;
}

async function getVerified(
  url: URL,
  options: { timeoutMs: number; caCerts?: string[] },
): Promise<{ status: number; ok: boolean; body: string }> {
  const client = options.caCerts
    ? Deno.createHttpClient({ caCerts: options.caCerts })
    : undefined;
  try {
    const response = await fetch(url, {
      client,
      signal: AbortSignal.timeout(options.timeoutMs),
    });
    return {
      status: response.status,
      ok: response.ok,
      body: await response.text(),
    };
  } finally {
    client?.close();
  }
}

// No runtime TLS API skips verification; Node's does, and runs in Deno.
// The connection is made here: the default agent's would read the system's
// CA store, which needs --allow-sys.
async function getUnverified(
  url: URL,
  timeoutMs: number,
): Promise<{ status: number; ok: boolean; body: string }> {
  const [{ get }, { connect }] = await Promise.all([
    import("node:https"),
    import("node:tls"),
  ]);
  const host = url.hostname.replace(/^\[(.*)\]$/, "$1");
  const createConnection = () =>
    connect({
      host,
      port: Number(url.port || 443),
      // SNI names a host, never an address (RFC 6066).
      servername: /^[\d.]+$|:/.test(host) ? undefined : host,
      rejectUnauthorized: false,
    });
  return await new Promise((resolve, reject) => {
    const request = get(url, { createConnection }, (response) => {
      let body = "";
      response.setEncoding("utf8");
      response.on("data", (chunk: string) => body += chunk);
      response.on("end", () => {
        const status = response.statusCode ?? 0;
        resolve({ status, ok: status >= 200 && status < 300, body });
      });
      response.on("error", reject);
    });
    request.setTimeout(timeoutMs, () => {
      const error = new Error("timed out");
      error.name = "TimeoutError";
      request.destroy(error);
    });
    request.on("error", reject);
  });
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
