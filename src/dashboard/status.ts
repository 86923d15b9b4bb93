/**
 * The page's header: the connection state in words, how the page caught
 * up after a reconnect, the server's version, and the token flow (asking
 * for a token, keeping it for the tab, asking the server whether it takes
 * it).
 *
 * @module
 */
import * as v from "valibot";
import { ConnectionError } from "../client/errors.ts";
import { byId, here, setText } from "./dom.ts";
import type { AuthAnswer, ConnectionState, Recovery } from "./follow.ts";
import { clock } from "./format.ts";

const TOKEN_KEY = "dorgu-ws.token";

const AuthSchema = v.object({
  ok: v.boolean(),
  auth: v.string(),
  user: v.optional(v.string()),
  message: v.optional(v.string()),
  retry: v.optional(v.boolean()),
});

const VersionSchema = v.object({
  version: v.string(),
  commit: v.string(),
  deno: v.string(),
  target: v.string(),
});

/**
 * The token kept for this tab (sessionStorage), and the button that
 * forgets it.
 */
export function tokenStorage(): {
  get(): string | undefined;
  set(token: string | undefined): void;
} {
  const forget = byId("forget-token");
  const storage = {
    get: () => sessionStorage.getItem(TOKEN_KEY) ?? undefined,
    set: (token: string | undefined) => {
      if (token === undefined) sessionStorage.removeItem(TOKEN_KEY);
      else sessionStorage.setItem(TOKEN_KEY, token);
      forget.hidden = token === undefined;
    },
  };
  forget.hidden = storage.get() === undefined;
  forget.addEventListener("click", () => {
    storage.set(undefined);
    location.reload();
  });
  return storage;
}

/** Shows the token form with `message`; resolves with what the user types. */
export function askToken(message: string): Promise<string> {
  const panel = byId("token-panel");
  const form = byId<HTMLFormElement>("token-form");
  const input = byId<HTMLInputElement>("token-input");
  return new Promise<string>((resolve) => {
    setText(byId("token-message"), message);
    panel.hidden = false;
    input.value = "";
    input.focus();
    form.onsubmit = (event) => {
      event.preventDefault();
      const token = input.value.trim();
      if (!token) return;
      panel.hidden = true;
      form.onsubmit = null;
      resolve(token);
    };
  });
}

/** Asks the server (`ui/auth`) whether it takes `token`, or none. */
export async function checkAuth(
  token: string | undefined,
): Promise<AuthAnswer> {
  let body: unknown;
  try {
    const response = await fetch(here("ui/auth"), {
      headers: token ? { authorization: `Bearer ${token}` } : {},
      cache: "no-store",
    });
    body = await response.json();
  } catch (error) {
    return {
      unreachable: `the server does not answer (${(error as Error).message})`,
    };
  }
  const answer = v.safeParse(AuthSchema, body);
  if (!answer.success) {
    return {
      unreachable: "the server's answer about tokens is not readable",
    };
  }
  const { ok, user, message, retry } = answer.output;
  setText(byId("signed-in"), ok && user ? `Signed in as ${user}` : "");
  return ok ? { ok, user } : {
    ok,
    message: message ?? "refused",
    retry: retry ?? false,
  };
}

let retryTimer: ReturnType<typeof setInterval> | undefined;

const STATE_WORDS: Record<ConnectionState["state"], string> = {
  connecting: "Connecting",
  live: "Live",
  reconnecting: "Reconnecting",
  token: "Waiting for a token",
  failed: "Stopped",
  stopped: "Stopped",
};

/** Shows the connection state in words. */
export function showState(state: ConnectionState): void {
  const pill = byId("connection");
  const detail = byId("connection-detail");
  pill.dataset.state = state.state;
  setText(pill, STATE_WORDS[state.state]);
  setText(detail, "");
  clearInterval(retryTimer);
  if (state.state === "token") setText(detail, state.message);
  if (state.state === "failed") {
    setText(
      detail,
      `${(state.error as Error).message} Reload the page to try again.`,
    );
  }
  if (state.state === "reconnecting") {
    const retryAt = Date.now() + state.waitMs;
    // A browser is told nothing of why a WebSocket did not open.
    const reason = state.error instanceof ConnectionError
      ? "the server did not take the connection; it may be busy or shutting down"
      : state.reason;
    const tick = () => {
      const seconds = Math.max(0, Math.ceil((retryAt - Date.now()) / 1000));
      setText(
        detail,
        // Not "lost the server": on a laptop the page's server is there, and
        // what it waits for is often the API server behind it.
        `Not live: ${reason}. Retrying ${
          seconds > 0 ? `in ${seconds} s` : "now"
        }.`,
      );
    };
    tick();
    retryTimer = setInterval(tick, 1000);
  }
}

/** Says how the page caught up after a reconnect. */
export function showRecovery(recovery: Recovery): void {
  const element = byId("recovery");
  element.dataset.how = recovery.how;
  setText(
    element,
    `${recovery.how === "resumed" ? "Resumed" : "Re-listed"} at ${
      clock(recovery.at)
    }: ${recovery.detail}.`,
  );
}

/** Shows the server's version, from its `/version`. */
export function showVersion(): void {
  fetch(here("version"), { cache: "no-store" }).then((r) => r.json()).then(
    (body) => {
      const parsed = v.safeParse(VersionSchema, body);
      if (!parsed.success) return;
      const { version, commit } = parsed.output;
      setText(
        byId("server-version"),
        `dorgu-ws ${version}${
          commit === "unknown" ? "" : ` (${commit.slice(0, 12)})`
        }`,
      );
    },
  ).catch(() => {});
}
