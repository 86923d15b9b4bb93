/**
 * What a follower (`follow.ts`) follows and hands on: the topics, why a topic
 * was listed, how a reconnect caught up, and the follower's states.
 *
 * @module
 */
import type { Topic } from "../protocol/shapes.ts";
import type { TopicEvent, TopicResponse } from "./topics.ts";

/** One topic to follow. */
export interface FollowTopic {
  /** The topic. */
  topic: Topic;
  /** Filters the server applies, to the listing and to the events. */
  filter?: { namespace?: string; name?: string };
  /** Extra fields of the listing request, e.g. `{limit: 10000}` for events. */
  listing?: Record<string, unknown>;
  /** Changes only: no listing before the first subscription. */
  changesOnly?: boolean;
}

/**
 * Why a topic was listed: the first time (`start`); the server restarted
 * (`restart`) or the missed events left its history (`history`), after a
 * reconnect; changes came faster than the first listing (`changed`); or
 * an offset jumped because this client fell behind (`gap`).
 */
export type ListCause = "start" | "restart" | "history" | "changed" | "gap";

/** A topic's current state, as the server listed it. */
export interface Listed {
  /** The topic. */
  topic: Topic;
  /** The answer; null when there is nothing to list (no ClusterPersona). */
  response: TopicResponse | null;
  /** Why it was listed. */
  cause: ListCause;
  /** With `gap`: how many events were missed. */
  missed?: number;
}

/** How one topic caught up after a reconnect. */
export interface TopicRecovery {
  /** The topic. */
  topic: Topic;
  /** Replayed from the server's history, or listed again. */
  how: "resumed" | "re-listed";
  /** Events replayed. */
  replayed: number;
  /** Why it was listed again. */
  cause?: ListCause;
}

/** How the topics caught up after a reconnect. */
export interface Recovery {
  /** Per topic. */
  topics: TopicRecovery[];
  /** Whether the server restarted (its epoch changed). */
  restarted: boolean;
}

/** The follower's state. */
export type FollowState =
  | { state: "connecting" }
  | { state: "live" }
  | {
    state: "reconnecting";
    /**
     * `lost`: a live connection ended; `failed`: connecting, or catching
     * up on a new connection (a server answering `not_ready`), failed.
     */
    after: "lost" | "failed";
    /** Why, in words. */
    reason: string;
    /** How long until the next attempt, ms. */
    waitMs: number;
    /** With `failed`: the error connecting. */
    error?: unknown;
  }
  | { state: "stopped" }
  | { state: "failed"; error: unknown };

/** What the follower hands on. Handlers may be async: they run in order. */
export interface FollowHandlers {
  /** A topic's current state (for `events`: its history). */
  listed?(listed: Listed): unknown;
  /** One change after the listing. */
  event?(message: TopicEvent): unknown;
  /** The state changed. */
  state?(state: FollowState): void;
  /** A reconnect caught up (not called for the first connection). */
  recovered?(recovery: Recovery): void;
}
