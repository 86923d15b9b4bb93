/**
 * Optional authentication of WebSocket upgrades with bearer tokens listed
 * in a file (`--auth token --token-file PATH`). The file is re-read when it
 * changes, so tokens mounted from a Kubernetes Secret rotate without a
 * restart.
 *
 * Line format: `token,user[,namespaces]` where namespaces is a
 * space-separated list limiting what that user sees (omitted or `*`: all).
 * Blank lines and lines starting with `#` are ignored.
 *
 * @module
 */
import { readBoundedText } from "../files.ts";
import * as v from "valibot";
import { createLogger, type Logger } from "../log.ts";
import { NamespaceSchema } from "../protocol/mod.ts";

// Thousands of token lines fit many times over; the file is re-read while
// serving, so a path that became a FIFO or a device must not stall it.
const MAX_TOKEN_FILE_BYTES = 1024 * 1024;

/** Who a connection authenticated as and what it may see. */
export interface Principal {
  /** User name, for logs. */
  user: string;
  /** Namespaces the user may see; `null` for all. */
  scope: ReadonlySet<string> | null;
}

/** Decides whether an upgrade request may connect. */
export interface Authenticator {
  /** The principal, or a reason to refuse (with 401 unless `status` says otherwise). */
  authenticate(
    request: Request,
  ): Promise<Principal | { refused: string; status?: number }>;
}

/** The subprotocol a browser offers along with `bearer.<base64url token>`. */
export const SUBPROTOCOL = "dorgu-ws";

/**
 * The bearer token of a request: the `Authorization` header, or for
 * browsers (which cannot set headers on a WebSocket) a
 * `bearer.<base64url>` entry in `Sec-WebSocket-Protocol`.
 */
export function bearerToken(request: Request): string | undefined {
  const header = request.headers.get("authorization");
  const match = header ? /^Bearer\s+(\S+)\s*$/i.exec(header) : null;
  if (match) return match[1];
  const protocols = request.headers.get("sec-websocket-protocol");
  for (const protocol of protocols?.split(",") ?? []) {
    const entry = protocol.trim();
    if (!entry.startsWith("bearer.")) continue;
    try {
      const base64 = entry.slice(7).replaceAll("-", "+").replaceAll("_", "/");
      return new TextDecoder().decode(
        Uint8Array.from(atob(base64), (c) => c.charCodeAt(0)),
      );
    } catch {
      return undefined;
    }
  }
  return undefined;
}

/** Parses a token file. Throws naming the line that is wrong. */
export function parseTokenFile(
  text: string,
  path: string,
): Map<string, Principal> {
  const tokens = new Map<string, Principal>();
  text.split(/\r?\n/).forEach((line, index) => {
    const trimmed = line.trim();
    if (!trimmed || trimmed.startsWith("#")) return;
    const [token, user, namespaces] = trimmed.split(",").map((f) => f.trim());
    if (!token || !user) {
      throw new Error(
        `${path}:${index + 1}: expected 'token,user[,namespaces]'.`,
      );
    }
    let scope: Set<string> | null = null;
    if (namespaces && namespaces !== "*") {
      scope = new Set(namespaces.split(/\s+/));
      for (const ns of scope) {
        if (!v.is(NamespaceSchema, ns)) {
          throw new Error(`${path}:${index + 1}: '${ns}' is not a namespace.`);
        }
      }
    }
    tokens.set(token, { user, scope });
  });
  return tokens;
}

/** Token-file authentication. */
export class TokenFileAuthenticator implements Authenticator {
  #path: string;
  #log: Logger;
  #byHash = new Map<string, Principal>();
  // The text last read: a change within the file system's timestamp
  // granularity would leave mtime as it was, so compare contents.
  #text: string | undefined;
  #rejected: string | undefined;
  #checkedAt = 0;

  private constructor(path: string, log: Logger) {
    this.#path = path;
    this.#log = log;
  }

  /** Loads `path`; rejects when it cannot be read or parsed. */
  static async load(
    path: string,
    options: { log?: Logger } = {},
  ): Promise<TokenFileAuthenticator> {
    const auth = new TokenFileAuthenticator(
      path,
      options.log ?? createLogger(),
    );
    await auth.#reload();
    return auth;
  }

  /** Checks the bearer token against the file. */
  async authenticate(
    request: Request,
  ): Promise<Principal | { refused: string }> {
    await this.#maybeReload();
    const token = bearerToken(request);
    if (token === undefined) {
      return { refused: "A bearer token is required: pass --token." };
    }
    // Looking tokens up by their hash keeps comparison time independent
    // of how much of a guessed token is right.
    const principal = this.#byHash.get(await sha256(token));
    return principal ?? { refused: "The token is not valid." };
  }

  async #maybeReload(): Promise<void> {
    const now = Date.now();
    if (now - this.#checkedAt < 2000) return;
    this.#checkedAt = now;
    try {
      await this.#reload();
    } catch (error) {
      this.#log.warn(
        "Cannot reload the token file; keeping the last good one",
        {
          path: this.#path,
          error,
        },
      );
    }
  }

  async #reload(): Promise<void> {
    const text = await readBoundedText(this.#path, {
      maxBytes: MAX_TOKEN_FILE_BYTES,
    });
    if (text === this.#text || text === this.#rejected) return;
    let tokens: Map<string, Principal>;
    try {
      tokens = parseTokenFile(text, this.#path);
    } catch (error) {
      // Reported once, not on every check while it stays broken.
      this.#rejected = text;
      throw error;
    }
    const byHash = new Map<string, Principal>();
    for (const [token, principal] of tokens) {
      byHash.set(await sha256(token), principal);
    }
    this.#byHash = byHash;
    this.#text = text;
  }
}

/** Hex SHA-256 of `text`: tokens are looked up and cached by their hash. */
export async function sha256(text: string): Promise<string> {
  const digest = await crypto.subtle.digest(
    "SHA-256",
    new TextEncoder().encode(text),
  );
  return Array.from(
    new Uint8Array(digest),
    (b) => b.toString(16).padStart(2, "0"),
  )
    .join("");
}
