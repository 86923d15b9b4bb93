/**
 * The laptop dashboard's secret, on the page's side. `dorgu-ws dashboard`
 * prints a URL whose fragment carries a secret (a fragment never reaches a
 * server, a log or a Referer). Before anything else the page takes it out
 * of the address bar and trades it, once, at `ui/session` for a cookie its
 * own script cannot read and only this server's page sends; the answer
 * also says which context the page shows, for the header (a user may run
 * several). Without the secret or the cookie the page says how to get in
 * and follows nothing. A server without the lock (`serve`) answers
 * `private: false`, and the page just starts.
 *
 * @module
 */
import * as v from "valibot";
import { byId, here, setText } from "./dom.ts";

const SessionSchema = v.variant("private", [
  v.object({ private: v.literal(false) }),
  v.object({
    private: v.literal(true),
    ok: v.boolean(),
    message: v.optional(v.string()),
    context: v.optional(v.string()),
    server: v.optional(v.string()),
    namespaces: v.optional(v.array(v.string())),
  }),
]);

/**
 * Opens the page's session; resolves true when the page may follow the
 * server, false when it is locked out (and the page says so).
 */
export async function openSession(): Promise<boolean> {
  const secret = takeSecret();
  let body: unknown;
  try {
    const response = await fetch(here("ui/session"), {
      method: secret === undefined ? "GET" : "POST",
      headers: secret === undefined
        ? {}
        : { authorization: `Bearer ${secret}` },
      cache: "no-store",
    });
    body = await response.json();
  } catch {
    // No answer (or an older server): the follower says what is wrong.
    return true;
  }
  const session = v.safeParse(SessionSchema, body);
  if (!session.success || !session.output.private) return true;
  const { ok, message, context, server, namespaces } = session.output;
  if (!ok) {
    showLocked(message ?? "This dashboard is private.");
    return false;
  }
  showTarget(context ?? "", server ?? "", namespaces ?? []);
  return true;
}

/** The secret in the fragment, removed from the address bar and history. */
function takeSecret(): string | undefined {
  const secret = new URLSearchParams(location.hash.slice(1)).get("secret");
  if (secret === null) return undefined;
  history.replaceState(
    history.state,
    "",
    `${location.pathname}${location.search}`,
  );
  return secret || undefined;
}

/** The context, API server and namespaces shown, beside the brand. */
function showTarget(context: string, server: string, namespaces: string[]) {
  let host = server;
  try {
    host = new URL(server).host;
  } catch {
    // Shown as given.
  }
  const scope = namespaces.length ? namespaces.join(", ") : "all namespaces";
  const shown = byId("context");
  shown.title = `Kubeconfig context ${context}, API server ${server}, ${scope}`;
  setText(byId("context-name"), context);
  setText(byId("context-server"), host);
  setText(byId("context-scope"), scope);
  shown.hidden = false;
  document.title = `${context}: dorgu-ws`;
}

/** Says how to get in, instead of the (empty) sections. */
function showLocked(message: string): void {
  const pill = byId("connection");
  pill.dataset.state = "failed";
  setText(pill, "Locked");
  (document.querySelector("main") as HTMLElement).hidden = true;
  byId("locked").hidden = false;
  // Written once shown, so the alert is announced.
  setText(byId("locked-message"), message);
}
