/**
 * The route table: which handler serves which path, and what every request
 * passes first (the host rule, then the gate when there is one, such as the
 * laptop dashboard's secret). Adding an endpoint is adding a row.
 *
 * @module
 */
import type { Logger, ThrottledLogger } from "../log.ts";
import {
  type RequestHandler,
  type RequestInfo,
  textResponse,
} from "../transport/mod.ts";
import { hostAllowed } from "./origin.ts";

/** One row of the table. */
export interface Route {
  /** An exact path, or a prefix ending in `/*`. */
  path: string;
  /** Methods served; GET and HEAD by default, `*` for any. */
  methods?: readonly string[];
  /** Serves a matching request. */
  handle: RequestHandler;
}

/** Options for {@link createRouter}. */
export interface RouterOptions {
  /** Host names allowed besides IP addresses and localhost. */
  allowedHosts: readonly string[];
  /** Where handler failures are logged. */
  log: Logger;
  /** Where refusals are logged: a peer can make them repeat. */
  limited: ThrottledLogger;
  /** Checked after the host rule, before any route. */
  gate?: Gate;
}

/** A refusal: counted by reason, logged, and answered as plain text. */
export interface Refusal {
  reason: string;
  status: number;
  message: string;
  headers?: Record<string, string>;
}

/**
 * A check every request passes after the host rule: undefined to serve
 * it; else a refusal, or an answer of the gate's own.
 */
export type Gate = (
  request: Request,
  path: string,
) => { refuse: Refusal } | { respond: Response } | undefined;

/** The reason counted when the host rule refuses a request. */
export const HOST_REFUSAL = "host";

/** Requests the router refused before any route, by reason. */
export type RouterStats = Map<string, number>;

const READ_METHODS = ["GET", "HEAD"] as const;

/** Creates the handler serving `routes`, and its refusal counters. */
export function createRouter(
  routes: readonly Route[],
  options: RouterOptions,
): { handle: RequestHandler; refused: RouterStats } {
  const refused: RouterStats = new Map();
  const served = routes.map((r) => r.path.replace("/*", "/")).join(", ");
  const find = (path: string) =>
    routes.find((r) =>
      r.path.endsWith("/*")
        ? path.startsWith(r.path.slice(0, -1))
        : r.path === path
    );
  const refuse = (request: Request, info: RequestInfo, refusal: Refusal) => {
    const { reason, status, message } = refusal;
    refused.set(reason, (refused.get(reason) ?? 0) + 1);
    options.limited.info("Refused a request", {
      remote: info.remoteAddr,
      reason,
      status,
      message,
      path: new URL(request.url).pathname,
      origin: request.headers.get("origin") ?? undefined,
    }, { key: reason });
    return textResponse(status, message, refusal.headers);
  };
  async function handle(request: Request, info: RequestInfo) {
    const host = request.headers.get("host");
    const path = new URL(request.url).pathname;
    if (!hostAllowed(host, { allowed: options.allowedHosts })) {
      return refuse(request, info, {
        reason: HOST_REFUSAL,
        status: 421,
        message:
          `Host ${host} is not served here: add it to --allowed-hosts (DORGU_WS_ALLOWED_HOSTS) to allow it.`,
      });
    }
    const gated = options.gate?.(request, path);
    if (gated && "refuse" in gated) return refuse(request, info, gated.refuse);
    if (gated) return gated.respond;
    const route = find(path);
    if (!route) {
      return textResponse(404, `Not found: this server serves ${served}.`);
    }
    const methods = route.methods ?? READ_METHODS;
    if (!methods.includes("*") && !methods.includes(request.method)) {
      return textResponse(
        405,
        `Only ${methods.join(" and ")} ${
          methods.length > 1 ? "are" : "is"
        } served here.`,
        { allow: methods.join(", ") },
      );
    }
    try {
      return await route.handle(request, info);
    } catch (error) {
      options.log.error("Serving a request failed", { path, error });
      return textResponse(500, "Internal error; it was logged.");
    }
  }
  return { handle, refused };
}
