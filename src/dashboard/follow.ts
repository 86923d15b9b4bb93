/**
 * The page follows the four topics on one connection through the client
 * library (list, subscribe from the listing's position, resume with
 * `since` after a lost connection, re-list when the server cannot replay
 * or an offset jumps), and adds what is the page's own: the token flow
 * before each connection, the connection state and recoveries in words,
 * and requests for what events leave incomplete.
 *
 * @module
 */
import { DorguError, ServerError } from "../client/errors.ts";
import {
  Follower,
  type FollowState,
  type Listed,
  type Recovery as TopicsRecovery,
} from "../client/follow.ts";
import { openSocket, subprotocols } from "../client/websocket.ts";
import { TOPICS } from "../protocol/topics.ts";
import * as model from "./model.ts";

/**
 * The connection, as the page shows it: the library's follower states,
 * and waiting for the user to give a token.
 */
export type ConnectionState = FollowState | { state: "token"; message: string };

/** How the page caught up after a reconnect. */
export interface Recovery {
  /** `resumed`: the missed events were replayed; else the state re-listed. */
  how: "resumed" | "re-listed";
  /** Why, in words. */
  detail: string;
  /** When, as the client's clock has it. */
  at: Date;
}

/**
 * What the server says about a token (or its absence): taken, refused
 * (`retry`: not the token's fault, the check itself failed), or no answer.
 */
export type AuthAnswer =
  | { ok: true; user?: string }
  | { ok: false; message: string; retry: boolean }
  | { unreachable: string };

/** What the follower needs from the page. */
export interface FollowerOptions {
  /** The WebSocket URL. */
  url: string;
  /** Asks the server whether it takes this token (or none). */
  checkAuth: (token: string | undefined) => Promise<AuthAnswer>;
  /** Resolves with a token the user typed, after showing `message`. */
  askToken: (message: string) => Promise<string>;
  /** The token kept for this tab, if any. */
  token: { get(): string | undefined; set(token: string | undefined): void };
  /** Called whenever the connection state changes. */
  onState: (state: ConnectionState) => void;
  /** Called after each reconnect that had to catch up. */
  onRecovery: (recovery: Recovery) => void;
  /** Called whenever the model changed. */
  onChange: () => void;
}

const REFRESH_EVERY_MS = 500;
// A browser answers the server's pings out of the page's sight, so a
// server gone silent without a close (a laptop that slept, a NAT that
// forgot the connection) would leave the page showing a stale picture as
// live. After this long without a message the page asks for the cluster;
// a reply that does not come in time closes the connection, and the
// follower reconnects and resumes.
const QUIET_MS = 30_000;

/** The page's follower: see the module doc. */
export interface PageFollower {
  /** Connects, follows, and reconnects until {@link PageFollower.stop}. */
  run(): Promise<void>;
  /** Stops following: closes the connection, and `run` returns. */
  stop(): void;
  /**
   * Asks the server for one persona, validation included; the answer goes
   * into the model.
   */
  loadPersona(key: string): Promise<void>;
  /**
   * Asks again for what events left incomplete: personas (one by one when
   * few, by namespace, or all) and the cluster's fields no event carries.
   * At most one round in flight, and one per {@link REFRESH_EVERY_MS}.
   */
  refresh(): Promise<void>;
}

/** Follows the four topics into the model; `run` starts it. */
export function followTopics(options: FollowerOptions): PageFollower {
  const { url, token, onChange, onRecovery } = options;
  const topics = new Follower({
    url,
    // A browser sends the token as the subprotocol; it cannot send headers.
    dial: (signal) =>
      openSocket(
        () => new WebSocket(url, subprotocols(token.get())),
        signal,
      ),
    topics: TOPICS.map((topic) => ({
      topic,
      listing: topic === "events" ? { limit: model.MAX_EVENTS } : undefined,
    })),
    prepare: () => authorize(options),
    retryFirstConnect: true,
    requestIdPrefix: "dash-",
  }, {
    listed: (listed) => {
      heardAt = Date.now();
      model.list(listed.topic, listed.response);
      if (listed.cause === "gap") onRecovery(fellBehind(listed));
      onChange();
    },
    event: (message) => {
      heardAt = Date.now();
      model.apply(message);
      onChange();
    },
    state: options.onState,
    recovered: (recovery) => onRecovery(describe(recovery)),
  });
  let refreshing = false;
  let refreshedAt = 0;
  let heardAt = 0;
  return {
    // A failure is shown as the state `failed`.
    run: () => topics.run().catch(() => {}),
    stop: () => topics.stop(),
    async loadPersona(key) {
      await loadPersona(topics, key);
      onChange();
    },
    async refresh() {
      const now = Date.now();
      const quiet = now - heardAt >= QUIET_MS;
      if (
        !topics.connection || refreshing ||
        now - refreshedAt < REFRESH_EVERY_MS ||
        (model.stale.size === 0 && !model.clusterStale && !quiet)
      ) return;
      refreshing = true;
      refreshedAt = now;
      await refreshStale(topics, quiet).then(() => {
        heardAt = Date.now();
        onChange();
      }).catch(() => {
        // The connection is gone or refused: the next one lists afresh.
      });
      refreshing = false;
    },
  };
}

async function loadPersona(topics: Follower, key: string): Promise<void> {
  const slash = key.indexOf("/");
  const reply = await topics.request("personas", {
    namespace: key.slice(0, slash),
    name: key.slice(slash + 1),
  });
  model.refresh(reply.payload.personas, { key });
}

async function refreshStale(topics: Follower, quiet: boolean): Promise<void> {
  if (model.clusterStale || quiet) {
    model.list("cluster", await topics.request("cluster").catch(noCluster));
  }
  const all = [...model.stale];
  // A persona whose validation is open is asked for by name, to refresh
  // the validation a listing does not carry.
  const named = all.length <= 3
    ? all
    : all.filter((key) => model.pinned.has(key)).slice(0, 3);
  await Promise.all(named.map((key) => loadPersona(topics, key)));
  const keys = [...model.stale].filter((key) => !model.pinned.has(key));
  const namespaces = new Set(keys.map((key) => key.split("/")[0]));
  if (keys.length === 0) return;
  if (namespaces.size <= 3) {
    await Promise.all([...namespaces].map(async (namespace) => {
      const reply = await topics.request("personas", { namespace });
      model.refresh(reply.payload.personas, { namespace });
    }));
  } else model.list("personas", await topics.request("personas"));
}

// No ClusterPersona (yet): nothing to list.
function noCluster(error: unknown): null {
  if (error instanceof ServerError && error.code === "not_found") return null;
  throw error;
}

// Before each connection: the server must say it takes the token (a
// browser is told nothing of why a WebSocket did not open); when it does
// not, the user is asked for one.
async function authorize(options: FollowerOptions): Promise<void> {
  const { token, checkAuth, askToken, onState } = options;
  while (true) {
    const current = token.get();
    const answer = await checkAuth(current);
    if ("unreachable" in answer) {
      throw new DorguError(answer.unreachable, { retry: true });
    }
    if (answer.ok) return;
    if (answer.retry) throw new DorguError(answer.message, { retry: true });
    const message = current === undefined
      ? "This server asks for a token."
      : `The server refused the token: ${answer.message}`;
    token.set(undefined);
    onState({ state: "token", message });
    token.set(await askToken(message));
  }
}

function fellBehind({ topic, missed = 0 }: Listed): Recovery {
  return {
    how: "re-listed",
    detail: `this page missed ${events(missed, topic)} (it fell behind)`,
    at: new Date(),
  };
}

function describe(recovery: TopicsRecovery): Recovery {
  const at = new Date();
  if (recovery.topics.every((t) => t.how === "resumed")) {
    const replayed = recovery.topics.reduce((sum, t) => sum + t.replayed, 0);
    return {
      how: "resumed",
      detail: `replayed ${events(replayed, "missed")}`,
      at,
    };
  }
  return {
    how: "re-listed",
    detail: recovery.restarted
      ? "after a server restart"
      : "the missed events had left the server's history",
    at,
  };
}

// `1 missed event`, `3 personas events`.
function events(n: number, what: string): string {
  return `${n} ${what} event${n === 1 ? "" : "s"}`;
}
