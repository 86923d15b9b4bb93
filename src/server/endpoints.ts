/**
 * The plain HTTP endpoints: liveness, readiness, the build, metrics, and
 * the protocol's AsyncAPI document.
 *
 * @module
 */
import { buildInfo } from "../version.ts";
import {
  METRICS_CONTENT_TYPE,
  type MetricsInput,
  renderMetrics,
} from "./metrics.ts";

const TEXT = { "content-type": "text/plain; charset=utf-8" };
const JSON_TYPE = { "content-type": "application/json" };

/** `/health`: 200 while the process serves. */
export function health(): Response {
  return new Response("ok\n", { headers: TEXT });
}

/**
 * `/ready`: 200 once every watched resource has completed its first list
 * (nothing `pending`) and the server is not shutting down; else 503 naming
 * what is pending.
 */
export function ready(
  pending: ReadonlyMap<string, string>,
  options: { draining: boolean },
): Response {
  const waiting: Record<string, string> = Object.fromEntries(pending);
  if (options.draining) waiting.server = "shutting down";
  if (Object.keys(waiting).length === 0) {
    return new Response(JSON.stringify({ ready: true }) + "\n", {
      headers: JSON_TYPE,
    });
  }
  return new Response(
    JSON.stringify({ ready: false, pending: waiting }) + "\n",
    {
      status: 503,
      headers: JSON_TYPE,
    },
  );
}

/** `/version`: the build, for clients and operators. */
export function version(): Response {
  return new Response(JSON.stringify(buildInfo()) + "\n", {
    headers: JSON_TYPE,
  });
}

/** `/metrics`: the Prometheus text format. */
export function metrics(input: MetricsInput): Response {
  return new Response(renderMetrics(input), {
    headers: { "content-type": METRICS_CONTENT_TYPE },
  });
}

/**
 * The protocol's AsyncAPI document, as committed (the binary embeds it;
 * `deno task asyncapi` writes it from the schemas).
 */
const ASYNCAPI = new URL("../../docs/asyncapi.json", import.meta.url);

/**
 * Reads the AsyncAPI document once, at start. Throws, naming the file and
 * what to do, when the build lacks it.
 */
export async function loadAsyncApi(): Promise<Uint8Array<ArrayBuffer>> {
  try {
    return await Deno.readFile(ASYNCAPI);
  } catch (error) {
    throw new Error(
      `The protocol's AsyncAPI document ${ASYNCAPI.pathname} cannot be read (${
        (error as Error).message
      }): run 'deno task asyncapi' in a checkout and build again.`,
    );
  }
}

/**
 * `/asyncapi.json`: the protocol, for integrators and code generators.
 * Served without authentication, like `/version`: it describes the
 * protocol and carries nothing of the cluster.
 */
export function asyncApi(document: Uint8Array<ArrayBuffer>): Response {
  return new Response(document, { headers: JSON_TYPE });
}
