/**
 * Serving the live dashboard: the page at `/`, its script, style and icon
 * under `/ui/`; `/ui/auth`, which tells the page whether the server
 * takes its token (a browser learns nothing of why a WebSocket upgrade was
 * refused); and `/ui/session`, where the laptop dashboard's page trades its
 * secret for a cookie (dashboard_lock.ts; elsewhere it says there is no
 * lock). The files are read once at start (the compiled binary embeds
 * them) and served with a strict Content-Security-Policy and an ETag.
 *
 * @module
 */
import type { RequestHandler } from "../transport/mod.ts";
import { type Authenticator, bearerToken, sha256 } from "./auth.ts";
import type { Route } from "./routes.ts";

/** One file of the page, ready to serve. */
interface Asset {
  body: Uint8Array<ArrayBuffer>;
  type: string;
  etag: string;
}

/** Where each file comes from, relative to this module, by path served. */
const FILES: Record<string, { file: string; type: string }> = {
  "/": {
    file: "../dashboard/page/index.html",
    type: "text/html; charset=utf-8",
  },
  "/ui/app.js": {
    file: "../dashboard/built/app.js",
    type: "text/javascript; charset=utf-8",
  },
  "/ui/style.css": {
    file: "../dashboard/page/style.css",
    type: "text/css; charset=utf-8",
  },
  "/ui/icon.svg": { file: "../dashboard/page/icon.svg", type: "image/svg+xml" },
};

/** The dashboard's files, read. */
export type DashboardAssets = ReadonlyMap<string, Asset>;

/**
 * Reads the page's files. Throws, naming the file and what to do, when the
 * build lacks one.
 */
export async function loadDashboard(): Promise<DashboardAssets> {
  const assets = new Map<string, Asset>();
  for (const [path, { file, type }] of Object.entries(FILES)) {
    const url = new URL(file, import.meta.url);
    let body: Uint8Array<ArrayBuffer>;
    try {
      body = await Deno.readFile(url);
    } catch (error) {
      throw new Error(
        `The dashboard's file ${url.pathname} cannot be read (${
          (error as Error).message
        }): run 'deno task dashboard' in a checkout, or serve without the page (--dashboard=false).`,
      );
    }
    const digest = await sha256(new TextDecoder().decode(body));
    assets.set(path, { body, type, etag: `"${digest.slice(0, 32)}"` });
  }
  return assets;
}

/**
 * The headers of every dashboard response. Scripts, styles and images
 * only from this server; connections only back to the host the page came
 * from, as ws: or wss: (`'self'` covers both in current browsers; the
 * host is spelled out for the others); never in a frame.
 */
export function securityHeaders(host: string | null): Record<string, string> {
  // The router's host rule has vetted the header; this keeps anything
  // that is not a plain host:port out of the policy all the same.
  const sockets = host && /^[A-Za-z0-9.\-[\]:]+$/.test(host)
    ? ` ws://${host} wss://${host}`
    : "";
  return {
    "content-security-policy": [
      "default-src 'none'",
      "script-src 'self'",
      "style-src 'self'",
      "img-src 'self'",
      `connect-src 'self'${sockets}`,
      "base-uri 'none'",
      "form-action 'none'",
      "frame-ancestors 'none'",
    ].join("; "),
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "x-frame-options": "DENY",
    "cross-origin-opener-policy": "same-origin",
    "cross-origin-resource-policy": "same-origin",
  };
}

/** A JSON answer to the page: its headers, never cached. */
export function pageJson(
  request: Request,
  body: Record<string, unknown>,
  headers: Record<string, string> = {},
): Response {
  return new Response(JSON.stringify(body) + "\n", {
    headers: {
      ...securityHeaders(request.headers.get("host")),
      "content-type": "application/json",
      "cache-control": "no-store",
      ...headers,
    },
  });
}

/** The dashboard's rows of the route table. */
export function dashboardRoutes(
  assets: DashboardAssets,
  options: {
    authenticator?: Authenticator;
    auth: string;
    /** `/ui/session` of a locked dashboard; default: there is no lock. */
    session?: RequestHandler;
  },
): Route[] {
  const serve: RequestHandler = (request) => {
    const path = new URL(request.url).pathname;
    const headers = securityHeaders(request.headers.get("host"));
    const asset = assets.get(path);
    if (!asset) {
      return new Response(`Not found: the dashboard has no ${path}.\n`, {
        status: 404,
        headers: { ...headers, "content-type": "text/plain; charset=utf-8" },
      });
    }
    // Revalidated on every load, so an upgraded server is never shown
    // with an old script; an unchanged file costs a 304.
    const cache = { etag: asset.etag, "cache-control": "no-cache" };
    if (request.headers.get("if-none-match") === asset.etag) {
      return new Response(null, {
        status: 304,
        headers: { ...headers, ...cache },
      });
    }
    return new Response(asset.body, {
      headers: { ...headers, ...cache, "content-type": asset.type },
    });
  };
  const check: RequestHandler = async (request) =>
    pageJson(request, await checkToken(request, options));
  const unlocked: RequestHandler = (request) =>
    pageJson(request, { private: false });
  return [
    { path: "/", handle: serve },
    { path: "/ui/auth", handle: check },
    {
      path: "/ui/session",
      methods: ["GET", "HEAD", "POST"],
      handle: options.session ?? unlocked,
    },
    { path: "/ui/*", handle: serve },
  ];
}

/**
 * Whether the upgrade would pass authentication with this request's token:
 * always 200, so the page's console stays clean, with `ok` and the reason.
 * `retry` marks a refusal that is not the token's fault (the Kubernetes
 * API did not answer).
 */
async function checkToken(
  request: Request,
  options: { authenticator?: Authenticator; auth: string },
): Promise<Record<string, unknown>> {
  const auth = options.auth;
  if (!options.authenticator) return { ok: true, auth };
  if (bearerToken(request) === undefined) {
    return { ok: false, auth, message: "This server asks for a token." };
  }
  const result = await options.authenticator.authenticate(request);
  if ("refused" in result) {
    return {
      ok: false,
      auth,
      message: result.refused,
      retry: (result.status ?? 401) !== 401,
    };
  }
  return { ok: true, auth, user: result.user };
}
