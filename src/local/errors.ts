/**
 * Why reading the cluster failed, as one line for the user: the API
 * server's own words for a refusal (kubectl prints its Status message the
 * same way: `applicationpersonas.dorgu.io is forbidden: User "..." cannot
 * list resource ...`), and what to do for the rest.
 *
 * @module
 */
import {
  AnswerError,
  ApiError,
  clientCertificateProblem,
} from "../kube/client.ts";
import { ListTimeout, seconds } from "../kube/list.ts";
import { RESOURCE_INFO } from "../sources/resources.ts";
import type { Reading } from "./plan.ts";

/** A failure of the direct path: one line, and the exit code. */
export class LocalError extends Error {
  /** The process exit code. */
  readonly exitCode: number;

  /** Creates the error. */
  constructor(message: string, exitCode = 1) {
    super(message);
    this.name = "LocalError";
    this.exitCode = exitCode;
  }
}

/** Where a request went, for messages. */
export interface Where {
  /** The API server's URL. */
  server: string;
  /** `context NAME (user USER)`. */
  describe: string;
}

/** One line for a failed read of `failed.reading` from the API server. */
export function readFailure(
  error: unknown,
  failed: { reading: Reading; where: Where },
): LocalError {
  const { reading, where } = failed;
  const info = RESOURCE_INFO[reading.resource];
  const resource = info.group ? `${info.plural}.${info.group}` : info.plural;
  if (error instanceof ApiError) {
    switch (error.status) {
      case 403:
        // The API server names the verb, resource and scope; kubectl
        // prints the same sentence.
        return new LocalError(
          info.namespaced && reading.namespace === undefined
            ? `${error.message}; ask for one namespace you may read with -n NAMESPACE.`
            : error.message,
        );
      case 401:
        return new LocalError(
          `The API server at ${where.server} did not accept the credentials of ${where.describe} (401 Unauthorized): log in again, or fix the user in the kubeconfig.`,
        );
      case 404:
        if (info.group === "dorgu.io") {
          return new LocalError(
            `The cluster of ${where.describe} does not serve ${resource}: the dorgu operator's CRDs are not installed in it; install the operator (or its CRDs) first.`,
          );
        }
        break;
    }
    return new LocalError(
      `The API server at ${where.server} refused to list ${resource} (${error.status} ${error.reason}): ${error.message}`,
    );
  }
  return new LocalError(unreachable(error, where));
}

/** One line for an API server that cannot be reached at all. */
export function unreachable(error: unknown, where: Where): string {
  const at = `the API server at ${where.server} (${where.describe})`;
  if (error instanceof AnswerError) {
    return `The ${at.slice(4)} ${error.message}.`;
  }
  if (error instanceof ListTimeout) {
    return `No answer from ${at} within ${seconds(error.waitedMs)} s.`;
  }
  const detail = describe(error);
  if (/connection refused/i.test(detail)) {
    return `The connection to ${at} was refused: is the cluster running, and is the kubeconfig's server address right?`;
  }
  if (/dns error|lookup address|name or service not known/i.test(detail)) {
    return `Cannot reach ${at}: its host name does not resolve.`;
  }
  const certificate = clientCertificateProblem(error);
  if (certificate) {
    return `The client certificate or key of ${where.describe} cannot be used (${certificate}); fix client-certificate and client-key (or their -data) in the kubeconfig.`;
  }
  if (/InvalidContentType|corrupt message|wrong version number/i.test(detail)) {
    return `Cannot reach ${at}: it does not speak TLS there (is it an http:// address?); check the kubeconfig's server address.`;
  }
  if (
    /UnknownIssuer|certificate|InvalidCertificate|NotValidForName/i.test(detail)
  ) {
    return `Cannot reach ${at}: its TLS certificate is not trusted (${
      tail(detail)
    }); check the cluster's certificate-authority in the kubeconfig.`;
  }
  return `Cannot reach ${at}: ${tail(detail)}.`;
}

// A fetch error's message and its causes' (Deno 2.8 and later say only
// "fetch failed" and give the reason as the cause).
function describe(error: unknown): string {
  const parts: string[] = [];
  for (let e = error; e !== undefined && parts.length < 4;) {
    parts.push(e instanceof Error ? e.message : String(e));
    e = e instanceof Error ? e.cause : undefined;
  }
  return parts.filter((part) => part !== "fetch failed").join(": ") ||
    "fetch failed";
}

// The useful end of a fetch error: "error sending request for url (...):
// client error (Connect): tcp connect error: ..." says little before it.
function tail(detail: string): string {
  return detail.replace(/^.*?\(https?:[^)]*\):\s*/, "").replace(/\.$/, "");
}
