/**
 * `get -w` and `watch` on the client library: the command line's server,
 * topic and filters, and the library's states told to the user in one
 * line each on stderr (a lost connection, a reconnect that replayed or
 * had to list again, an offset gap).
 *
 * @module
 */
import { redactUrl } from "../redact.ts";
import {
  Client,
  type Follower,
  type FollowHandlers,
  type FollowState,
  type Listed,
  type Recovery,
} from "../client/mod.ts";
import type { ClientOptions } from "./options.ts";
import { forTerminal } from "./output.ts";
import { listingExtras, serverFilter } from "./items.ts";

/** What a command does with the listing and each change. */
export type FollowSink = Required<Pick<FollowHandlers, "listed" | "event">>;

/** The library's client for the command line's server. */
export function clientFor(options: ClientOptions): Client {
  return new Client(options.target.url, {
    token: options.target.token,
    tls: options.target.tls,
    dial: options.target.dial,
    timeoutMs: options.timeoutMs,
  });
}

/** A follower for a `get -w` or `watch` command line, noticing on stderr. */
export function followerFor(
  options: ClientOptions,
  sink: FollowSink,
  signal: AbortSignal,
): Follower {
  const notices = new Notices(options);
  return clientFor(options).follow([{
    topic: options.topic,
    filter: serverFilter(options),
    listing: listingExtras(options),
    changesOnly: options.follow === "only",
  }], {
    listed: (listed) => {
      notices.listed(listed);
      if (listed.response) return sink.listed(listed);
    },
    event: (message) => sink.event(message),
    state: (state) => notices.state(state),
    recovered: (recovery) => notices.recovered(recovery),
  }, { signal });
}

function notice(text: string): void {
  console.error(`dorgu-ws: ${forTerminal(text, true)}`);
}

// The follower's states in words, each said once.
class Notices {
  readonly #options: ClientOptions;
  #lastFailure = "";

  constructor(options: ClientOptions) {
    this.#options = options;
  }

  state(state: FollowState): void {
    if (state.state === "live") this.#lastFailure = "";
    if (state.state !== "reconnecting") return;
    const url = redactUrl(this.#options.target.url);
    if (state.after === "lost") {
      notice(
        `lost the connection to ${url} (${state.reason}); reconnecting in ${
          (state.waitMs / 1000).toFixed(1)
        } s.`,
      );
    } else if (state.reason !== this.#lastFailure) {
      // Once per reason, not once per attempt, during a long outage.
      this.#lastFailure = state.reason;
      notice(`${state.reason} Retrying...`);
    }
  }

  recovered(recovery: Recovery): void {
    const [topic] = recovery.topics;
    if (topic?.how !== "resumed") return;
    notice(
      `reconnected to ${
        redactUrl(this.#options.target.url)
      }; replayed ${topic.replayed} missed events.`,
    );
  }

  listed(listed: Listed): void {
    const { topic } = listed;
    const url = redactUrl(this.#options.target.url);
    switch (listed.cause) {
      case "restart":
      case "history":
        return notice(
          `reconnected to ${url}, which cannot replay what was missed (it restarted, or the events are gone); listing the current ${topic}.`,
        );
      case "changed":
        return notice(
          `the ${topic} changed faster than they could be listed; listing them again.`,
        );
      case "gap":
        return notice(
          `missed ${listed.missed} ${topic} events (this client fell behind); listing the current ${topic}.`,
        );
    }
  }
}
