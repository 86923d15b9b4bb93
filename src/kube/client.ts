/**
 * Requests to the Kubernetes API on `fetch`, with `Deno.createHttpClient`
 * carrying the cluster's CA and the user's client certificate.
 * Credentials are loaded afresh for every request, so rotated tokens and
 * refreshed exec credentials take effect on the next (re)connect.
 *
 * @module
 */
import { bypassProxyForLoopback } from "../flags.ts";
import type { KubeAccess } from "./config.ts";

/** Something that yields current credentials. */
export interface CredentialSource {
  /** Current credentials. */
  load(): Promise<KubeAccess>;
  /** Forgets credentials the API server refused, so the next load renews them. */
  invalidate?(): void;
}

/** A non-2xx answer from the API server, with its Status message. */
export class ApiError extends Error {
  /** HTTP status (or the Status object's code). */
  readonly status: number;
  /** The Status reason (NotFound, Forbidden, Expired, Gone...), if any. */
  readonly reason: string;
  /** The `Retry-After` header, as sent, when there was one. */
  readonly retryAfter: string | undefined;

  /** Creates the error from the Status message, status and reason. */
  constructor(
    message: string,
    options: { status: number; reason: string; retryAfter?: string },
  ) {
    super(message);
    this.name = "ApiError";
    this.status = options.status;
    this.reason = options.reason;
    this.retryAfter = options.retryAfter;
  }
}

/**
 * The most of one answer read: a page of a list (500 objects of at most
 * etcd's default 1.5 MiB each, in practice a few MiB), a Status.
 */
export const MAX_ANSWER_BYTES = 128 * 1024 * 1024;

// A Status is a few hundred bytes; a proxy's error page a few KiB.
const MAX_ERROR_BYTES = 64 * 1024;

/**
 * An answer that cannot be used: larger than {@link MAX_ANSWER_BYTES}, or
 * not JSON. Its message completes "The API server at URL ...".
 */
export class AnswerError extends Error {
  /** Creates the error. */
  constructor(message: string) {
    super(message);
    this.name = "AnswerError";
  }
}

/**
 * Why a request got no answer, in words: Deno's fetch says "fetch failed"
 * and puts the reason in its cause, after the request's URL (which the
 * reader knows: it is the API server's).
 */
export function unreachableReason(error: Error): string {
  const detail = error.cause instanceof Error ? error.cause : error;
  return detail.message.replace(/^error sending request for url \(.*?\): /, "");
}

/**
 * Why the TLS stack refused the user's client certificate or key (not a
 * certificate, no key, a key that does not match), from `error` or its
 * causes; undefined for any other failure. Waiting will not fix it.
 */
export function clientCertificateProblem(error: unknown): string | undefined {
  for (let e = error, depth = 0; e instanceof Error && depth < 4; depth++) {
    const found =
      /No (keys|certificates) found in (key|certificate) data|keys may not be consistent: KeyMismatch/i
        .exec(e.message);
    if (found) return found[0];
    e = e.cause;
  }
  return undefined;
}

/** Options for one request. */
export interface RequestOptions {
  /** Aborts the request and its body. */
  signal?: AbortSignal;
  /** HTTP method; GET by default. */
  method?: string;
  /** A JSON body. */
  body?: unknown;
}

/** A client for the API server named by the current credentials. */
export class KubeClient {
  #credentials: CredentialSource;
  #httpClient: Deno.HttpClient | undefined;
  #tlsKey = "";

  /** Creates a client that asks `credentials` before every request. */
  constructor(credentials: CredentialSource) {
    this.#credentials = credentials;
  }

  /**
   * Sends a request to `path` (e.g. `/api/v1/events?limit=500`) and returns
   * the response once its headers arrive. Throws {@link ApiError} for any
   * status outside 2xx, with the API server's own message.
   */
  async request(path: string, options: RequestOptions = {}): Promise<Response> {
    const access = await this.#credentials.load();
    const headers: Record<string, string> = {
      accept: "application/json",
      "user-agent": "dorgu-ws",
      ...access.headers,
    };
    if (options.body !== undefined) {
      headers["content-type"] = "application/json";
    }
    const init = {
      method: options.method ?? "GET",
      headers,
      body: options.body === undefined
        ? undefined
        : JSON.stringify(options.body),
      signal: options.signal,
    };
    const response = access.insecure
      ? await insecureFetch(`${access.server}${path}`, init, access)
      : await fetch(`${access.server}${path}`, {
        ...init,
        client: this.#client(access),
      });
    if (response.ok) return response;
    // An exec plugin's credential without an expiry lasts until refused.
    if (response.status === 401) this.#credentials.invalidate?.();
    throw await apiError(response);
  }

  /**
   * Sends a request and parses the JSON answer, read up to
   * {@link MAX_ANSWER_BYTES}. Throws {@link AnswerError} for an answer
   * larger than that, or one that is not JSON.
   */
  async json(path: string, options: RequestOptions = {}): Promise<unknown> {
    return parseAnswer(await this.text(path, options));
  }

  /**
   * Sends a request and reads the answer's text, up to
   * {@link MAX_ANSWER_BYTES}; throws {@link AnswerError} past that.
   */
  async text(path: string, options: RequestOptions = {}): Promise<string> {
    const response = await this.request(path, options);
    const { text, cut } = await readText(response, MAX_ANSWER_BYTES);
    if (cut) {
      throw new AnswerError(
        `sent an answer larger than ${
          MAX_ANSWER_BYTES / 1024 / 1024
        } MiB, which dorgu-ws does not read`,
      );
    }
    return text;
  }

  /**
   * Makes the next requests open new connections, for when one has gone
   * silent: over HTTP/2 every request shares one connection, and a dead
   * one would swallow each retry. Requests under way keep theirs.
   */
  reconnect(): void {
    this.#httpClient?.close();
    this.#httpClient = undefined;
  }

  /** Releases the connection pool. */
  close(): void {
    this.reconnect();
  }

  // One pooled client per set of TLS material; a renewed certificate gets
  // a new pool, everything else reuses connections.
  #client(access: KubeAccess): Deno.HttpClient {
    const key = [
      access.caCerts.join(""),
      access.cert ?? "",
      access.key ?? "",
      access.proxy ?? "",
    ].join("\u0000");
    if (!this.#httpClient || key !== this.#tlsKey) {
      this.#httpClient?.close();
      if (!access.proxy) bypassProxyForLoopback();
      const tls = access.cert && access.key
        ? { cert: access.cert, key: access.key }
        : {};
      this.#httpClient = Deno.createHttpClient({
        caCerts: access.caCerts,
        ...tls,
        ...(access.proxy ? { proxy: { url: access.proxy } } : {}),
      });
      this.#tlsKey = key;
    }
    return this.#httpClient;
  }
}

/** `text` parsed as JSON; {@link AnswerError} when it is not JSON. */
export function parseAnswer(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new AnswerError(
      `answered with something that is not JSON (${
        JSON.stringify(text.slice(0, 40))
      }...); check that the kubeconfig's server address is an API server's`,
    );
  }
}

async function apiError(response: Response): Promise<ApiError> {
  const { text } = await readText(response, MAX_ERROR_BYTES).catch(() => ({
    text: "",
  }));
  let reason = response.statusText;
  // Not a Status (a proxy's page, say): its first line, cut short.
  const first = text.trim().split("\n")[0].trim();
  let message = (first.length > 200 ? `${first.slice(0, 200)}...` : first) ||
    response.statusText;
  try {
    const status = JSON.parse(text);
    if (status && typeof status.message === "string") message = status.message;
    if (status && typeof status.reason === "string") reason = status.reason;
  } catch {
    // Not a Status object: keep the text.
  }
  return new ApiError(message, {
    status: response.status,
    reason,
    retryAfter: response.headers.get("retry-after") ?? undefined,
  });
}

/**
 * The body as text, at most `maxBytes` of it; `cut` when there was more
 * (the rest is not read, and the text is its first `maxBytes`).
 */
async function readText(
  response: Response,
  maxBytes: number,
): Promise<{ text: string; cut: boolean }> {
  const reader = response.body?.getReader();
  if (!reader) return { text: "", cut: false };
  const decoder = new TextDecoder();
  const parts: string[] = [];
  let total = 0;
  while (true) {
    const { done, value } = await reader.read();
    if (done) break;
    const room = maxBytes - total;
    total += value.length;
    if (total > maxBytes) {
      parts.push(decoder.decode(value.subarray(0, room)));
      await reader.cancel().catch(() => {});
      return { text: parts.join(""), cut: true };
    }
    parts.push(decoder.decode(value, { stream: true }));
  }
  parts.push(decoder.decode());
  return { text: parts.join(""), cut: false };
}

/**
 * `insecure-skip-tls-verify`: Deno's fetch always verifies certificates, so
 * these (rare, discouraged) clusters are reached through node:https, which
 * can skip verification per request. The answer is wrapped as a Response.
 */
async function insecureFetch(
  url: string,
  init: {
    method: string;
    headers: Record<string, string>;
    body?: string;
    signal?: AbortSignal;
  },
  tls: Pick<KubeAccess, "caCerts" | "cert" | "key">,
): Promise<Response> {
  const https = await import("node:https");
  const { Readable } = await import("node:stream");
  return await new Promise<Response>((resolve, reject) => {
    const request = https.request(url, {
      method: init.method,
      headers: init.headers,
      rejectUnauthorized: false,
      // An explicit list, even empty, keeps node:tls from loading the
      // system store (which would need --allow-sys).
      ca: tls.caCerts,
      cert: tls.cert,
      key: tls.key,
      signal: init.signal,
    }, (incoming) => {
      const headers = new Headers();
      for (const [name, value] of Object.entries(incoming.headers)) {
        if (value !== undefined) headers.set(name, String(value));
      }
      resolve(
        new Response(Readable.toWeb(incoming) as ReadableStream<Uint8Array>, {
          status: incoming.statusCode ?? 502,
          headers,
        }),
      );
    });
    request.on("error", reject);
    request.end(init.body);
  });
}
