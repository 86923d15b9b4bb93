/**
 * The browser origin rule: a WebSocket upgrade carrying an `Origin` header
 * (only browsers send one) is accepted when it comes from the page's own
 * host or from an origin `--allowed-origins` lists. Clients without an
 * `Origin` (the CLI, Go programs, curl) are accepted.
 */

/**
 * Whether an upgrade from `origin` to a server reached as `host` is
 * allowed. Patterns are `*`, an exact origin such as
 * `https://ops.example.com`, or a wildcard subdomain such as
 * `https://*.example.com`.
 */
export function originAllowed(
  origin: string | null,
  host: string | null,
  options: { allowed: readonly string[] },
): boolean {
  if (origin === null) return true;
  let url: URL;
  try {
    url = new URL(origin);
  } catch {
    // "null" (sandboxed frames, file://) and garbage are never same-origin.
    return options.allowed.includes("*");
  }
  if (host !== null && url.host === host.toLowerCase()) return true;
  return options.allowed.some((pattern) => matches(pattern, url));
}

function matches(pattern: string, origin: URL): boolean {
  if (pattern === "*") return true;
  const wildcard = /^([a-z][a-z0-9+.-]*):\/\/\*\.(.+)$/i.exec(pattern);
  if (wildcard) {
    let base: URL;
    try {
      base = new URL(`${wildcard[1]}://${wildcard[2]}`);
    } catch {
      return false;
    }
    return origin.protocol === base.protocol && origin.port === base.port &&
      origin.hostname.endsWith(`.${base.hostname}`);
  }
  try {
    return new URL(pattern).origin === origin.origin;
  } catch {
    return false;
  }
}

/** Throws when a pattern can never match, so a typo fails at start-up. */
export function checkOriginPatterns(patterns: readonly string[]): void {
  for (const pattern of patterns) {
    if (pattern === "*") continue;
    const candidate = pattern.replace("://*.", "://");
    let url: URL | undefined;
    try {
      url = new URL(candidate);
    } catch {
      url = undefined;
    }
    if (!url || url.origin === "null" || url.pathname !== "/" || url.search) {
      throw new Error(
        `--allowed-origins entry '${pattern}' is not an origin; write it like https://ops.example.com or https://*.example.com.`,
      );
    }
  }
}
