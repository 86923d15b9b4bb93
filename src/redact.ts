/**
 * URLs as they may be shown: in errors, logs and the terminal. A URL can
 * carry a secret (`https://user:password@host`, `https://TOKEN@host`,
 * `?token=...`), and the user who pasted it is not the only one who reads
 * what dorgu-ws prints (a CI log, a shared terminal, a bug report).
 *
 * @module
 */

const HIDDEN = "xxxxx";

/**
 * `text` with the URL's user information and query values replaced by
 * `xxxxx`; unchanged when it has neither, or is not a URL.
 */
export function redactUrl(text: string): string {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return text;
  }
  if (!url.username && !url.password && !url.search) return text;
  if (url.username) url.username = HIDDEN;
  if (url.password) url.password = HIDDEN;
  for (const key of new Set(url.searchParams.keys())) {
    url.searchParams.set(key, HIDDEN);
  }
  // URL writes a bare host with a "/": the address stays as written.
  const bare = url.pathname === "/" && !/^[^?#]*:\/\/[^/?#]*\//.test(text);
  return bare ? url.href.replace(/\/(?=[?#]|$)/, "") : url.href;
}
