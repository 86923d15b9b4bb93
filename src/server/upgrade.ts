/**
 * `/ws`: the checks an upgrade must pass, in order (after the router's host
 * rule, which every request passes), then the switch to a
 * WebSocket whose messages go to {@link Inbound} and whose events come
 * from the hub. Each check is a guard returning a refusal or nothing, so
 * adding one is adding a line to {@link GUARDS}.
 *
 * @module
 */
import { type Hub, Session } from "../hub/mod.ts";
import type { Logger, ThrottledLogger } from "../log.ts";
import type {
  CloseInfo,
  RequestInfo,
  WebSocketConnection,
  WebSocketHandlers,
} from "../transport/mod.ts";
import { HttpError, textResponse } from "../transport/mod.ts";
import { type Authenticator, SUBPROTOCOL } from "./auth.ts";
import type { ServeConfig } from "./config.ts";
import type { Client, Inbound } from "./inbound.ts";
import { originAllowed } from "./origin.ts";
import { TokenBucket } from "./rate_limiter.ts";
import { NamespaceScope } from "./scope.ts";

/** WebSocket connection counters, for `/metrics`. */
export interface ConnectionStats {
  /** Upgrades accepted since start. */
  accepted: number;
  /** Upgrades refused, by reason. */
  rejected: Map<RefusalReason, number>;
  /** Connections ended, by cause. */
  closed: Map<string, number>;
}

/** Every reason an upgrade can be refused for. */
export const REFUSAL_REASONS = [
  "disabled",
  "not_upgrade",
  "draining",
  "origin",
  "limit",
  "unauthorized",
  "auth_unavailable",
  "bad_upgrade",
] as const;

/** One of {@link REFUSAL_REASONS}. */
export type RefusalReason = typeof REFUSAL_REASONS[number];

/** What the `/ws` route works with. */
export interface UpgradeContext {
  /** The validated configuration. */
  config: ServeConfig;
  /** The topic registry. */
  hub: Hub;
  /** Handles inbound messages. */
  inbound: Inbound;
  /** Checks credentials when `--auth` is on. */
  authenticator?: Authenticator;
  /** Structured log. */
  log: Logger;
  /** The log for lines a peer can make repeat (refusals). */
  limited: ThrottledLogger;
  /** Open WebSocket connections now. */
  openConnections(): number;
  /** Whether the server is shutting down. */
  draining(): boolean;
}

/** A refusal: the reason counted in metrics, and the answer sent. */
interface Refusal {
  reason: RefusalReason;
  status: number;
  message: string;
  headers?: Record<string, string>;
}

type Guard = (request: Request, ctx: UpgradeContext) => Refusal | undefined;

function refusal(
  reason: RefusalReason,
  status: number,
  message: string,
  headers?: Record<string, string>,
): Refusal {
  return { reason, status, message, headers };
}

/** The checks every upgrade passes before authentication, in order. */
const GUARDS: readonly Guard[] = [
  (_request, ctx) =>
    ctx.config.enableWebsocket ? undefined : refusal(
      "disabled",
      404,
      "WebSockets are disabled on this server (--enable-websocket=false).",
    ),
  (request) =>
    request.method === "GET" && !request.headers.has("upgrade")
      ? refusal(
        "not_upgrade",
        426,
        "This endpoint speaks WebSocket: connect with a WebSocket client.",
        { upgrade: "websocket" },
      )
      : undefined,
  (_request, ctx) =>
    ctx.draining()
      ? refusal("draining", 503, "The server is shutting down.")
      : undefined,
  (request, ctx) => {
    const origin = request.headers.get("origin");
    return originAllowed(origin, request.headers.get("host"), {
        allowed: ctx.config.allowedOrigins,
      })
      ? undefined
      : refusal(
        "origin",
        403,
        `Cross-origin WebSocket refused: add ${origin} to --allowed-origins to allow it.`,
      );
  },
  (_request, ctx) =>
    ctx.openConnections() >= ctx.config.maxConnections
      ? refusal("limit", 503, "Too many connections: try again later.", {
        "retry-after": "5",
      })
      : undefined,
];

/** A connected client and what its close line reports. */
interface Connected extends Client {
  readonly remoteAddr: string;
  readonly openedAt: number;
}

/** The `/ws` route and the counters it keeps. */
export interface UpgradeRoute {
  /** Serves one request to `/ws`. */
  handle(request: Request, info: RequestInfo): Promise<Response>;
  /** Connection counters. */
  readonly stats: ConnectionStats;
}

/** Creates the `/ws` route. */
export function createUpgradeRoute(ctx: UpgradeContext): UpgradeRoute {
  const stats: ConnectionStats = {
    accepted: 0,
    rejected: new Map(),
    closed: new Map(),
  };
  const count = (map: Map<string, number>, key: string) =>
    map.set(key, (map.get(key) ?? 0) + 1);
  // The line says who and why, never what credentials were sent.
  const refuse = (refused: Refusal, request: Request, info: RequestInfo) => {
    count(stats.rejected, refused.reason);
    ctx.limited.info("Refused a connection", {
      remote: info.remoteAddr,
      reason: refused.reason,
      status: refused.status,
      message: refused.message,
      origin: request.headers.get("origin") ?? undefined,
      auth: ctx.config.auth,
    }, { key: refused.reason });
    return textResponse(refused.status, refused.message, refused.headers);
  };

  // One set of handlers for every connection: per-socket closures would
  // cost memory on each of tens of thousands of sockets.
  const handlers: WebSocketHandlers = {
    text: (socket, text) => ctx.inbound.text(socket.data as Client, text),
    binary: (socket) => ctx.inbound.binary(socket.data as Client),
    closed: (socket: WebSocketConnection, close: CloseInfo) => {
      const client = socket.data as Connected;
      ctx.hub.detach(client.session);
      count(stats.closed, close.cause);
      // At shutdown the count of clients closed is one line instead.
      if (close.cause !== "shutdown") {
        ctx.log.info("Closed a client", {
          session: client.session.id,
          remote: client.remoteAddr,
          user: client.session.user,
          cause: close.cause,
          code: close.code,
          durationSeconds: Math.round(performance.now() - client.openedAt) /
            1000,
          sent: client.session.sent,
          dropped: client.session.dropped,
        });
      }
    },
  };

  async function handle(
    request: Request,
    info: RequestInfo,
  ): Promise<Response> {
    for (const guard of GUARDS) {
      const refused = guard(request, ctx);
      if (refused) return refuse(refused, request, info);
    }
    let user: string | undefined;
    let scope = NamespaceScope.ALL;
    if (ctx.authenticator) {
      const result = await ctx.authenticator.authenticate(request);
      if ("refused" in result) {
        const status = result.status ?? 401;
        return refuse(
          refusal(
            status === 401 ? "unauthorized" : "auth_unavailable",
            status,
            result.refused,
            status === 401
              ? { "www-authenticate": 'Bearer realm="dorgu-ws"' }
              : {},
          ),
          request,
          info,
        );
      }
      user = result.user;
      scope = new NamespaceScope(result.scope);
    }
    const offered = request.headers.get("sec-websocket-protocol")?.split(",")
      .map((p) => p.trim()) ?? [];
    let upgraded;
    try {
      upgraded = info.upgrade({
        protocol: offered.includes(SUBPROTOCOL) ? SUBPROTOCOL : undefined,
      });
    } catch (error) {
      if (!(error instanceof HttpError)) throw error;
      const reason = error.status === 503 ? "limit" : "bad_upgrade";
      return refuse(
        refusal(
          reason,
          error.status,
          `Invalid WebSocket upgrade: ${error.message}`,
        ),
        request,
        info,
      );
    }
    const { socket, response } = upgraded;
    const session = new Session(socket, { scope, user });
    const now = performance.now();
    const client: Connected = {
      session,
      scope,
      bucket: new TokenBucket({
        rate: ctx.config.rateLimit,
        burst: ctx.config.rateBurst,
      }, now),
      remoteAddr: info.remoteAddr,
      openedAt: now,
    };
    socket.data = client;
    socket.handlers = handlers;
    // Nothing is sent before the client's first message, so the session
    // can join the hub before the switch completes.
    ctx.hub.attach(session);
    stats.accepted++;
    ctx.log.info("Opened a client", {
      session: session.id,
      remote: info.remoteAddr,
      user,
      origin: request.headers.get("origin") ?? undefined,
      auth: ctx.config.auth,
      tls: info.tls,
    });
    return response;
  }

  return { handle, stats };
}
