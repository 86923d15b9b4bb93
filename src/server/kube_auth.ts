/**
 * `--auth kubernetes`: a client's bearer token is checked with the API
 * server's TokenReview, and what the user may see is decided with
 * SubjectAccessReviews: the namespaces in which the user may list
 * ApplicationPersonas (all of them when the user may list them cluster-wide).
 *
 * The service account needs `create` on tokenreviews and
 * subjectaccessreviews and `list` on namespaces. Answers are cached per
 * token for a minute, so a reconnecting client costs the API nothing.
 *
 * @module
 */
import { type KubeClient } from "../kube/mod.ts";
import { createLogger, type Logger } from "../log.ts";
import {
  type Authenticator,
  bearerToken,
  type Principal,
  sha256,
} from "./auth.ts";

/** What `--auth kubernetes` checks a user's access against. */
const REFERENCE = {
  group: "dorgu.io",
  resource: "applicationpersonas",
  verb: "list",
};

interface ReviewedUser {
  username: string;
  uid?: string;
  groups?: string[];
  extra?: Record<string, string[]>;
}

type Outcome = Principal | { refused: string; status?: number };

/** Options for {@link KubernetesAuthenticator}. */
export interface KubernetesAuthOptions {
  /** Structured log. */
  log?: Logger;
  /** How long an answer is reused, in ms. Default 60 s. */
  cacheMs?: number;
  /** Answers kept at most (the oldest go first). Default 10,000. */
  cacheSize?: number;
  /** Reviews under way at most; past it clients get 503. Default 32. */
  maxReviews?: number;
}

/** Authentication and namespace scoping by the Kubernetes API. */
export class KubernetesAuthenticator implements Authenticator {
  #client: KubeClient;
  #log: Logger;
  #cacheMs: number;
  #cacheSize: number;
  #maxReviews: number;
  #reviewing = 0;
  // In the order answers were stored, so expired ones are at the front.
  #cache = new Map<string, { outcome: Outcome; expires: number }>();

  /** Uses `client` (the server's own credentials) for the reviews. */
  constructor(client: KubeClient, options: KubernetesAuthOptions = {}) {
    this.#client = client;
    this.#log = options.log ?? createLogger();
    this.#cacheMs = options.cacheMs ?? 60_000;
    this.#cacheSize = options.cacheSize ?? 10_000;
    this.#maxReviews = options.maxReviews ?? 32;
  }

  /** Reviews the request's bearer token. */
  async authenticate(request: Request): Promise<Outcome> {
    const token = bearerToken(request);
    if (token === undefined) {
      return {
        refused:
          "A bearer token is required: pass --token with a Kubernetes token.",
      };
    }
    const key = await sha256(token);
    const now = Date.now();
    const cached = this.#cache.get(key);
    if (cached && cached.expires > now) return cached.outcome;
    // Every unknown token costs the API server a review, and anyone can
    // send tokens: reviews under way are bounded, and so is the cache.
    if (this.#reviewing >= this.#maxReviews) {
      return {
        refused:
          "Too many tokens are being checked at once; try again shortly.",
        status: 503,
      };
    }
    let outcome: Outcome;
    this.#reviewing++;
    try {
      outcome = await this.#review(token);
    } catch (error) {
      this.#log.warn(
        "Cannot review a client's token; the service account needs create on tokenreviews and subjectaccessreviews and list on namespaces",
        { error },
      );
      // Not cached: the next attempt may find the API back.
      return {
        refused: "The server cannot check tokens right now; try again shortly.",
        status: 503,
      };
    } finally {
      this.#reviewing--;
    }
    this.#remember(key, { outcome, expires: now + this.#cacheMs });
    return outcome;
  }

  #remember(key: string, entry: { outcome: Outcome; expires: number }): void {
    this.#cache.delete(key);
    this.#cache.set(key, entry);
    for (const [k, { expires }] of this.#cache) {
      if (expires > Date.now() && this.#cache.size <= this.#cacheSize) break;
      this.#cache.delete(k);
    }
  }

  async #review(token: string): Promise<Outcome> {
    const review = await this.#client.json(
      "/apis/authentication.k8s.io/v1/tokenreviews",
      {
        method: "POST",
        body: {
          apiVersion: "authentication.k8s.io/v1",
          kind: "TokenReview",
          spec: { token },
        },
      },
    ) as {
      status?: { authenticated?: boolean; user?: ReviewedUser; error?: string };
    };
    const user = review.status?.user;
    if (!review.status?.authenticated || !user?.username) {
      return { refused: "The token is not valid for this cluster." };
    }
    if (await this.#allowed(user)) return { user: user.username, scope: null };
    const namespaces = await this.#client.json("/api/v1/namespaces") as {
      items: { metadata: { name: string } }[];
    };
    const scope = new Set<string>();
    const names = namespaces.items.map((ns) => ns.metadata.name);
    for (let i = 0; i < names.length; i += 20) {
      const batch = names.slice(i, i + 20);
      const verdicts = await Promise.all(
        batch.map((ns) => this.#allowed(user, ns)),
      );
      batch.forEach((ns, j) => verdicts[j] && scope.add(ns));
    }
    return { user: user.username, scope };
  }

  async #allowed(user: ReviewedUser, namespace?: string): Promise<boolean> {
    const review = await this.#client.json(
      "/apis/authorization.k8s.io/v1/subjectaccessreviews",
      {
        method: "POST",
        body: {
          apiVersion: "authorization.k8s.io/v1",
          kind: "SubjectAccessReview",
          spec: {
            user: user.username,
            uid: user.uid,
            groups: user.groups,
            extra: user.extra,
            resourceAttributes: { ...REFERENCE, namespace },
          },
        },
      },
    ) as { status?: { allowed?: boolean } };
    return review.status?.allowed === true;
  }
}
