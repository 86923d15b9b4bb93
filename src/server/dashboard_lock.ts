/**
 * The lock on `dorgu-ws dashboard`: it serves a cluster, read with its
 * user's own credentials, on a loopback port any local user (and any page
 * in any browser tab) can reach, so only whoever holds the secret it
 * printed may read through it, as with Jupyter.
 *
 * - The secret (256 random bits) rides in the printed URL's fragment, which
 *   a browser never sends to a server, a proxy log or a Referer. The page
 *   takes it out of the address bar and trades it once, in an
 *   `Authorization` header, for a cookie its script cannot read
 *   (HttpOnly), that only same-site requests carry (SameSite=Strict), named
 *   after the port (cookies ignore ports: two dashboards must not
 *   overwrite each other's).
 * - Every path but `/health`, the page's own files, `/asyncapi.json` and
 *   the exchange needs the cookie or the secret as a bearer token (the
 *   CLI, scripts): `/ws`, `/metrics`, `/ready`, `/version`, `/ui/auth` and
 *   whatever is added later. Compared in constant time.
 * - Cookies are shared by every port of 127.0.0.1, so another local web
 *   app's page is "same-site" and carries it: any request with a foreign
 *   `Origin`, or that the browser marks as not same-origin
 *   (`Sec-Fetch-Site`), is refused before the cookie is even looked at.
 *   The router's host rule (DNS rebinding) and the upgrade's origin rule
 *   stay on as well.
 *
 * @module
 */
import { timingSafeEqual } from "node:crypto";
import type { RequestHandler } from "../transport/mod.ts";
import { bearerToken } from "./auth.ts";
import { pageJson as json } from "./dashboard.ts";
import { originAllowed } from "./origin.ts";
import type { Gate, Refusal } from "./routes.ts";

/** Where the page trades the secret for its cookie, and learns what it shows. */
export const SESSION_PATH = "/ui/session";

/**
 * What anyone may fetch: liveness, the page's code and the protocol's
 * description (no data of the cluster in any).
 */
const PUBLIC = new Set([
  "/health",
  "/asyncapi.json",
  "/",
  "/ui/app.js",
  "/ui/style.css",
  "/ui/icon.svg",
]);

const LOCKED =
  "This dashboard is private to whoever started it: open the URL 'dorgu-ws dashboard' printed, which carries its secret.";
const STALE =
  "This link's secret is not the one this dashboard was started with (each start makes a new one): open the URL it printed last.";

/** What the page shows about what it is looking at. */
export interface DashboardTarget {
  /** The kubeconfig context. */
  context: string;
  /** The API server's URL. */
  server: string;
  /** The namespaces shown; empty for all. */
  namespaces: readonly string[];
}

/** The secret, the cookie it buys, and the checks; see the module doc. */
export class DashboardLock {
  readonly #secret = randomToken();
  readonly #cookieValue = randomToken();
  readonly #target: DashboardTarget;
  readonly #onExchange: () => void;
  #cookieName: string | undefined;

  /** A lock with a fresh secret; `onExchange` hears of each browser let in. */
  constructor(target: DashboardTarget, options: { onExchange?: () => void }) {
    this.#target = target;
    this.#onExchange = options.onExchange ?? (() => {});
  }

  /** Names the cookie after the port, once the server listens. */
  listening(port: number): void {
    this.#cookieName = `dorgu-ws-dashboard-${port}`;
  }

  /** The URL to print: `base` with the secret in its fragment. */
  url(base: string): string {
    return `${base}#secret=${this.#secret}`;
  }

  /** The router's gate. */
  readonly gate: Gate = (request, path) => {
    if (PUBLIC.has(path)) return undefined;
    const foreign = foreignRequest(request);
    if (foreign) return { refuse: foreign };
    if (path === SESSION_PATH || this.authorized(request)) return undefined;
    // The page asks before every connection; a plain refusal there would
    // read as a broken server rather than a lock.
    if (path === "/ui/auth") {
      return {
        respond: json(request, {
          ok: false,
          auth: "dashboard",
          message: LOCKED,
          retry: false,
        }),
      };
    }
    return {
      refuse: {
        reason: "unauthorized",
        status: 401,
        message: LOCKED,
        headers: { "www-authenticate": 'Bearer realm="dorgu-ws dashboard"' },
      },
    };
  };

  /**
   * `/ui/session`: GET says whether this browser is in (and what it
   * shows); POST with `Authorization: Bearer SECRET` lets it in. Always 200
   * with `ok`, so the page's console stays clean; the gate has already
   * refused foreign origins.
   */
  readonly session: RequestHandler = (request) => {
    if (request.method !== "POST") {
      return this.authorized(request)
        ? json(request, { private: true, ok: true, ...this.#target })
        : json(request, { private: true, ok: false, message: LOCKED });
    }
    const offered = bearerToken(request);
    if (offered === undefined || !same(offered, this.#secret)) {
      return json(request, { private: true, ok: false, message: STALE });
    }
    this.#onExchange();
    return json(request, { private: true, ok: true, ...this.#target }, {
      "set-cookie": `${this.#cookieName}=${this.#cookieValue}; Path=/; ` +
        "HttpOnly; SameSite=Strict",
    });
  };

  /** Whether `request` carries the cookie or the secret. */
  authorized(request: Request): boolean {
    const offered = bearerToken(request);
    if (offered !== undefined && same(offered, this.#secret)) return true;
    const name = this.#cookieName;
    if (name === undefined) return false;
    // Another page on 127.0.0.1 may have set a cookie of the same name
    // under a longer path; any one of them matching is enough.
    return cookies(request, name).some((value) =>
      same(value, this.#cookieValue)
    );
  }
}

/** 256 bits from the system's CSPRNG, base64url. */
function randomToken(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(32));
  return btoa(String.fromCharCode(...bytes)).replaceAll("+", "-")
    .replaceAll("/", "_").replaceAll("=", "");
}

/** Constant-time equality: no timing says how much of a guess was right. */
function same(offered: string, expected: string): boolean {
  const a = new TextEncoder().encode(offered);
  const b = new TextEncoder().encode(expected);
  // The length is no secret: every token has the same.
  return a.length === b.length && timingSafeEqual(a, b);
}

function cookies(request: Request, name: string): string[] {
  const header = request.headers.get("cookie") ?? "";
  return header.split(";").flatMap((pair) => {
    const eq = pair.indexOf("=");
    return eq > 0 && pair.slice(0, eq).trim() === name
      ? [pair.slice(eq + 1).trim()]
      : [];
  });
}

/**
 * A request another page made: an `Origin` other than this server's, or a
 * browser's own word (`Sec-Fetch-Site`) that it is not same-origin. A
 * navigation the user typed (`none`) and clients without either pass.
 */
function foreignRequest(request: Request): Refusal | undefined {
  const origin = request.headers.get("origin");
  const site = request.headers.get("sec-fetch-site");
  const foreign = (origin !== null &&
    !originAllowed(origin, request.headers.get("host"), { allowed: [] })) ||
    (site !== null && site !== "same-origin" && site !== "none");
  return foreign
    ? {
      reason: "origin",
      status: 403,
      message:
        "Cross-origin request refused: this dashboard answers only its own page.",
    }
    : undefined;
}
