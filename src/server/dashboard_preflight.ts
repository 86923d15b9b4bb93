/**
 * What `dorgu-ws dashboard` checks before it serves: one `limit=1` list of
 * each resource the page shows, in the scope it shows it, then a watch
 * from there that ends at once, with the user's own credentials (what
 * `kubectl get -w` would cost). What will not heal by waiting fails at
 * once, in one line, as kubectl fails: credentials the API server refuses
 * (401), a client certificate or key the TLS stack refuses, and RBAC
 * that forbids a list or a watch (403, with the API server's own words). What can heal is a warning, and the dashboard
 * serves anyway: an API server that does not answer (it restarts, the VPN
 * is not up yet), a CRD not installed yet, a 429 or 5xx. The page then
 * shows why a topic is not there, as `/ready` says it, and catches up.
 *
 * @module
 */
import { redactUrl } from "../redact.ts";
import {
  ApiError,
  clientCertificateProblem,
  type KubeAccess,
  type KubeClient,
  unreachableReason,
} from "../kube/mod.ts";
import {
  collectionPath,
  listingLabel,
  RESOURCE_INFO,
  RESOURCES,
} from "../sources/resources.ts";

/** How long one check may take before the API server counts as unreachable. */
const CHECK_TIMEOUT_MS = 5000;

/** What {@link preflight} found that will not stop the dashboard. */
export type Warnings = string[];

/**
 * Lists and watches every resource once in each scope. Throws a one-line
 * error for refused credentials or a forbidden list or watch; returns the
 * warnings.
 */
export async function preflight(
  client: KubeClient,
  options: { access: KubeAccess; namespaces: readonly string[] },
): Promise<Warnings> {
  const { access, namespaces } = options;
  const checks = RESOURCES.flatMap((resource) => {
    const info = RESOURCE_INFO[resource];
    const scopes = info.namespaced && namespaces.length
      ? [...namespaces]
      : [undefined];
    return scopes.map((namespace) => ({
      label: listingLabel(info, namespace),
      path: collectionPath(info, namespace),
      clusterWide: info.namespaced && namespace === undefined,
    }));
  });
  const outcomes = await Promise.all(checks.map(async (check) => {
    try {
      await listThenWatch(client, check.path);
      return { check };
    } catch (error) {
      return { check, error: error as Error };
    }
  }));
  const failed = outcomes.filter((o) => o.error !== undefined);
  const refused = failed.find((o) =>
    o.error instanceof ApiError && o.error.status === 401
  );
  if (refused) {
    throw new Error(
      `The API server ${
        redactUrl(access.server)
      } refused the credentials of ${access.describe}: ${refused.error?.message}. Log in again, or fix the user in the kubeconfig.`,
    );
  }
  const certificate = failed.map((o) => clientCertificateProblem(o.error))
    .find((problem) => problem !== undefined);
  if (certificate) {
    throw new Error(
      `The client certificate or key of ${access.describe} cannot be used (${certificate}); fix client-certificate and client-key (or their -data) in the kubeconfig.`,
    );
  }
  const forbidden = failed.filter((o) =>
    o.error instanceof ApiError && o.error.status === 403
  );
  if (forbidden.length > 0) {
    const others = forbidden.slice(1).map((o) => o.check.label);
    const hint = forbidden.some((o) => o.check.clusterWide)
      ? "pass -n with the namespaces you may read, or ask for list and watch on them"
      : "ask for list and watch on them";
    throw new Error(
      `Error from server (Forbidden): ${forbidden[0].error?.message}${
        others.length ? ` (also forbidden: ${others.join(", ")})` : ""
      } with ${access.describe}. The dashboard lists and watches ApplicationPersonas, ClusterPersonas, Deployments and Events: ${hint}.`,
    );
  }
  return [
    ...new Set(failed.map(({ check, error }) => warning(check, error, access))),
  ];
}

/**
 * Lists one object of `path`, then opens a watch from the list's version
 * (so no object is sent again) and closes it once the API server has
 * answered: the informers need both verbs.
 */
async function listThenWatch(client: KubeClient, path: string): Promise<void> {
  const signal = AbortSignal.timeout(CHECK_TIMEOUT_MS);
  const listed = await client.json(`${path}?limit=1`, { signal }) as {
    metadata?: { resourceVersion?: string };
  };
  const version = encodeURIComponent(listed.metadata?.resourceVersion ?? "");
  const watch = await client.request(
    `${path}?watch=true&resourceVersion=${version}&timeoutSeconds=1`,
    { signal },
  );
  await watch.body?.cancel();
}

function warning(
  check: { label: string },
  error: Error | undefined,
  access: KubeAccess,
): string {
  if (error instanceof ApiError && error.status === 404) {
    return `The API server does not serve ${check.label} (is the dorgu operator's CRD installed?); serving anyway: the page shows it once it is there.`;
  }
  if (error instanceof ApiError) {
    return `The API server answered ${error.status} for ${check.label}: ${error.message}; serving anyway: the page catches up once it answers.`;
  }
  const why = error?.name === "TimeoutError"
    ? `no answer within ${CHECK_TIMEOUT_MS / 1000} s`
    : unreachableReason(error as Error);
  return `Cannot reach the API server ${
    redactUrl(access.server)
  } (${why}); serving anyway: the page shows the cluster once it answers.`;
}
