/**
 * Who may talk to the server from a browser.
 *
 * The host rule: a request must name this server in its `Host` header: an
 * IP address, `localhost`, or a name `--allowed-hosts` lists. A page on an
 * attacker's domain that re-resolves to this server's address (DNS
 * rebinding, say to a laptop's 127.0.0.1:9090) still sends its own domain
 * as `Host`, so it is refused before the origin rule could mistake it for
 * same-origin. IP addresses are safe to accept: a browser sends one only
 * when the page itself was loaded from that address.
 *
 * The origin rule: a WebSocket upgrade carrying an `Origin` header (only
 * browsers send one) is accepted when it comes from the page's own host or
 * from an origin `--allowed-origins` lists. Clients without an `Origin`
 * (the CLI, Go programs, curl) are accepted.
 *
 * @module
 */

/**
 * Whether a request whose `Host` header is `host` may be served. Patterns
 * are host names (any port), `*.example.com` for subdomains, or `*`.
 */
export function hostAllowed(
  host: string | null,
  options: { allowed: readonly string[] },
): boolean {
  // HTTP/1.0 clients may omit Host; no browser does.
  if (host === null) return true;
  const name = hostName(host);
  if (name === undefined) return false;
  if (name === "localhost" || isIpLiteral(name)) return true;
  return options.allowed.some((pattern) => {
    const p = pattern.toLowerCase().replace(/\.$/, "");
    if (p === "*") return true;
    if (p.startsWith("*.")) return name.endsWith(p.slice(1));
    return name === p;
  });
}

// The host name of a Host header, lower-cased, without port or final dot;
// undefined when the header is not a host at all.
function hostName(host: string): string | undefined {
  const text = host.trim().toLowerCase();
  const match = /^(\[[0-9a-f:.]+\]|[a-z0-9._-]+)(?::(\d{1,5}))?$/.exec(text);
  if (!match) return undefined;
  return match[1].replace(/\.$/, "");
}

function isIpLiteral(name: string): boolean {
  if (name.startsWith("[")) return true;
  const parts = name.split(".");
  return parts.length === 4 &&
    parts.every((p) => /^\d{1,3}$/.test(p) && Number(p) <= 255);
}

/** Throws when a host pattern can never match, so a typo fails at start-up. */
export function checkHostPatterns(patterns: readonly string[]): void {
  for (const pattern of patterns) {
    if (pattern === "*") continue;
    const name = pattern.startsWith("*.") ? pattern.slice(2) : pattern;
    if (
      !/^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*\.?$/i
        .test(name)
    ) {
      throw new Error(
        `--allowed-hosts entry '${pattern}' is not a host name; write it like dorgu-ws.dorgu-system.svc or *.example.com.`,
      );
    }
  }
}

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
