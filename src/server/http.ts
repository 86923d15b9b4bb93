/**
 * The HTTP side: `/ws` upgrades (origin rule, connection limit, auth) and
 * the `/health`, `/ready` and `/metrics` endpoints.
 */
import {
  type CloseCause,
  type Dispatcher,
  type Hub,
  Session,
  type SessionPolicy,
} from "../hub/mod.ts";
import type { Logger } from "../log.ts";
import type { Source, Store } from "../sources/mod.ts";
import { type Authenticator, SUBPROTOCOL } from "./auth.ts";
import type { ServeConfig } from "./config.ts";
import {
  type ConnectionStats,
  METRICS_CONTENT_TYPE,
  renderMetrics,
} from "./metrics.ts";
import { originAllowed } from "./origin.ts";
import { buildInfo } from "../version.ts";

/** What the handler works with. */
export interface HandlerContext {
  /** The validated configuration. */
  config: ServeConfig;
  /** The topic registry. */
  hub: Hub;
  /** Routes inbound messages. */
  dispatcher: Dispatcher;
  /** The cache, for readiness and metrics. */
  store: Store;
  /** The source, for its watch counters. */
  source: Source;
  /** Checks credentials when `--auth` is on. */
  authenticator?: Authenticator;
  /** Structured log. */
  log: Logger;
}

/** The request handler and the state it keeps. */
export interface Handler {
  /** Serves one request. */
  handle(request: Request): Promise<Response>;
  /** Connection counters. */
  readonly connections: ConnectionStats;
  /** Refuses new upgrades and reports not ready, for shutdown. */
  drain(): void;
}

const SESSION = Symbol("session");

/** A socket that knows its session, so handlers can be shared. */
interface SessionSocket extends WebSocket {
  [SESSION]: Session;
}

const TEXT = { "content-type": "text/plain; charset=utf-8" };
const JSON_TYPE = { "content-type": "application/json" };

/** Creates the handler for `Deno.serve`. */
export function createHandler(ctx: HandlerContext): Handler {
  const connections: ConnectionStats = {
    open: 0,
    accepted: 0,
    rejected: new Map(),
    closed: new Map(),
  };
  let draining = false;
  const count = (map: Map<string, number>, key: string) =>
    map.set(key, (map.get(key) ?? 0) + 1);
  const refuse = (
    reason: string,
    status: number,
    body: string,
    headers = {},
  ) => {
    count(connections.rejected, reason);
    return new Response(body + "\n", {
      status,
      headers: { ...TEXT, ...headers },
    });
  };

  async function upgrade(request: Request): Promise<Response> {
    if (!ctx.config.enableWebsocket) {
      return new Response(
        "WebSockets are disabled on this server (--enable-websocket=false).\n",
        { status: 404, headers: TEXT },
      );
    }
    const upgradeHeader = request.headers.get("upgrade");
    if (request.method === "GET" && upgradeHeader === null) {
      return refuse(
        "not_upgrade",
        426,
        "This endpoint speaks WebSocket: connect with a WebSocket client.",
        { upgrade: "websocket" },
      );
    }
    if (draining) {
      return refuse("draining", 503, "The server is shutting down.");
    }
    if (
      !originAllowed(
        request.headers.get("origin"),
        request.headers.get("host"),
        {
          allowed: ctx.config.allowedOrigins,
        },
      )
    ) {
      return refuse(
        "origin",
        403,
        `Cross-origin WebSocket refused: add ${
          request.headers.get("origin")
        } to --allowed-origins to allow it.`,
      );
    }
    if (connections.open >= ctx.config.maxConnections) {
      return refuse(
        "limit",
        503,
        "Too many connections: try again later.",
        { "retry-after": "5" },
      );
    }
    let principal: { user?: string; scope: ReadonlySet<string> | null } = {
      scope: null,
    };
    if (ctx.authenticator) {
      const result = await ctx.authenticator.authenticate(request);
      if ("refused" in result) {
        const status = result.status ?? 401;
        return refuse(
          status === 401 ? "unauthorized" : "auth_unavailable",
          status,
          result.refused,
          status === 401
            ? { "www-authenticate": 'Bearer realm="dorgu-ws"' }
            : {},
        );
      }
      principal = result;
    }
    const offered = request.headers.get("sec-websocket-protocol")?.split(",")
      .map((p) => p.trim()) ?? [];
    let upgraded;
    try {
      upgraded = Deno.upgradeWebSocket(request, {
        idleTimeout: ctx.config.readTimeoutMs / 1000,
        protocol: offered.includes(SUBPROTOCOL) ? SUBPROTOCOL : undefined,
      });
    } catch (error) {
      return refuse(
        "bad_upgrade",
        400,
        `Invalid WebSocket upgrade: ${(error as Error).message}`,
      );
    }
    attach(upgraded.socket, principal);
    return upgraded.response;
  }

  // One policy and one pair of handlers for every connection: per-socket
  // closures would cost memory on each of tens of thousands of sockets.
  const policy: SessionPolicy = {
    sendBuffer: ctx.config.sendBuffer,
    rateLimit: ctx.config.rateLimit,
    rateBurst: ctx.config.rateBurst,
    onClose: (closed: Session, cause: CloseCause) => {
      count(connections.closed, cause);
      ctx.hub.detach(closed);
      if (cause !== "shutdown") {
        ctx.log.info("Closed a client", {
          session: closed.id,
          user: closed.user,
          cause,
        });
      }
    },
  };
  function onMessage(this: WebSocket, event: MessageEvent): void {
    ctx.dispatcher.receive((this as SessionSocket)[SESSION], event.data);
  }
  function onClose(this: WebSocket, event: CloseEvent): void {
    const session = (this as SessionSocket)[SESSION];
    connections.open--;
    if (!session.closed) {
      count(
        connections.closed,
        event.code === 1001 && !event.wasClean ? "read_timeout" : "client",
      );
    }
    ctx.hub.detach(session);
  }

  function attach(
    socket: WebSocket,
    principal: { user?: string; scope: ReadonlySet<string> | null },
  ): void {
    connections.open++;
    connections.accepted++;
    const session = new Session(socket, policy, principal);
    // Nothing is sent before the client's first message, which comes after
    // the socket opens, so the session can join the hub right away.
    ctx.hub.attach(session);
    const tagged = socket as SessionSocket;
    tagged[SESSION] = session;
    tagged.onmessage = onMessage;
    tagged.onclose = onClose;
  }

  function ready(): Response {
    const pending: Record<string, string> = Object.fromEntries(
      ctx.store.readiness.pending(),
    );
    if (draining) pending.server = "shutting down";
    if (Object.keys(pending).length === 0) {
      return new Response(JSON.stringify({ ready: true }) + "\n", {
        headers: JSON_TYPE,
      });
    }
    return new Response(
      JSON.stringify({ ready: false, pending }) + "\n",
      { status: 503, headers: JSON_TYPE },
    );
  }

  async function handle(request: Request): Promise<Response> {
    const path = new URL(request.url).pathname;
    try {
      if (path === "/ws") return await upgrade(request);
      if (request.method !== "GET" && request.method !== "HEAD") {
        return new Response("Only GET is served here.\n", {
          status: 405,
          headers: { ...TEXT, allow: "GET, HEAD" },
        });
      }
      switch (path) {
        case "/health":
          return new Response("ok\n", { headers: TEXT });
        case "/ready":
          return ready();
        case "/version":
          return new Response(JSON.stringify(buildInfo()) + "\n", {
            headers: JSON_TYPE,
          });
        case "/metrics":
          return new Response(
            renderMetrics({
              connections,
              topics: ctx.hub.stats(),
              dispatch: ctx.dispatcher.stats,
              resources: ctx.store.stats(),
              watches: ctx.source.watchStats?.() ?? new Map(),
            }),
            { headers: { "content-type": METRICS_CONTENT_TYPE } },
          );
      }
      return new Response(
        "Not found: this server serves /ws, /health, /ready, /metrics and /version.\n",
        { status: 404, headers: TEXT },
      );
    } catch (error) {
      ctx.log.error("Serving a request failed", { path, error });
      return new Response("Internal error; it was logged.\n", {
        status: 500,
        headers: TEXT,
      });
    }
  }

  return {
    handle,
    connections,
    drain: () => {
      draining = true;
    },
  };
}
