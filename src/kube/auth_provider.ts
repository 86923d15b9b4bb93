/**
 * Kubeconfig users with an `auth-provider`, as kubectl (client-go 1.26 and
 * later) treats them: `oidc` sends its `id-token`; `gcp` and `azure` were
 * removed from client-go in favour of exec plugins, and kubectl says so.
 *
 * An expired id-token is not refreshed here: kubectl refreshes it and
 * writes the new id-token and refresh-token back into the kubeconfig, and
 * most identity providers honour a refresh token once. A refresh that
 * could not be written back (this program has no write permission) would
 * spend the kubeconfig's refresh token and leave kubectl logged out. So
 * the user is told to let kubectl refresh it.
 *
 * @module
 */
import * as v from "valibot";

const ClaimsSchema = v.object({ exp: v.optional(v.number()) });

/** The request headers an auth provider gives, or a one-line error. */
export function authProviderHeaders(
  provider: { name: string; config?: Record<string, string> | null },
  describe: string,
): Record<string, string> {
  switch (provider.name) {
    case "oidc":
      return {
        authorization: `Bearer ${idToken(provider.config ?? {}, describe)}`,
      };
    case "gcp":
      throw new Error(
        `The gcp auth plugin of ${describe} has been removed from kubectl and dorgu-ws alike; use the gke-gcloud-auth-plugin credential plugin instead (gcloud components install gke-gcloud-auth-plugin, then gcloud container clusters get-credentials).`,
      );
    case "azure":
      throw new Error(
        `The azure auth plugin of ${describe} has been removed from kubectl and dorgu-ws alike; use the kubelogin credential plugin instead (https://github.com/Azure/kubelogin: kubelogin convert-kubeconfig).`,
      );
    default:
      throw new Error(
        `The auth-provider ${provider.name} of ${describe} is not one kubectl knows; use an exec credential plugin.`,
      );
  }
}

// The id-token, while it is valid for at least ten more seconds.
function idToken(config: Record<string, string>, describe: string): string {
  const token = config["id-token"];
  if (!token) {
    throw new Error(
      `The oidc auth-provider of ${describe} has no id-token yet; log in with kubectl first.`,
    );
  }
  const expires = expiryOf(token);
  if (expires === undefined) {
    throw new Error(
      `The id-token of the oidc auth-provider of ${describe} is not a JWT with an expiry; log in again with kubectl.`,
    );
  }
  if (expires * 1000 < Date.now() + 10_000) {
    throw new Error(
      `The id-token of the oidc auth-provider of ${describe} has expired; let kubectl refresh it (run any kubectl command, such as kubectl version), which writes the new token into the kubeconfig, then try again.`,
    );
  }
  return token;
}

function expiryOf(token: string): number | undefined {
  const payload = token.split(".")[1];
  if (!payload) return undefined;
  try {
    const json = atob(payload.replace(/-/g, "+").replace(/_/g, "/"));
    const claims = v.safeParse(ClaimsSchema, JSON.parse(json));
    return claims.success ? claims.output.exp : undefined;
  } catch {
    return undefined;
  }
}
