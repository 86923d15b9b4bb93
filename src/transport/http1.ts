/**
 * The HTTP/1.1 this server speaks: request heads parsed strictly and within
 * limits, and responses written with a length. Nothing here reads a request
 * body: every endpoint is a GET, so a request that announces a body is
 * answered and the connection closed, never read into memory.
 *
 * @module
 */

/** A parsed request head. */
export interface RequestHead {
  /** The method, e.g. `GET`. */
  method: string;
  /** The request target as sent: a path with an optional query. */
  target: string;
  /** `1.0` or `1.1`. */
  version: "1.0" | "1.1";
  /** Header fields in order, names lower-cased. */
  headers: [string, string][];
  /** Bytes the head took, including its blank line. */
  bytes: number;
}

/** A request that cannot be served, and the status that says why. */
export class HttpError extends Error {
  /** The response status. */
  readonly status: number;

  /** Creates the error with `status` and the text the client sees. */
  constructor(status: number, message: string) {
    super(message);
    this.name = "HttpError";
    this.status = status;
  }
}

// RFC 9110 token characters, for methods and field names.
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
// Field values: visible characters, spaces, tabs and obs-text; no controls.
const FIELD_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;
const VISIBLE_ASCII = /^[!-~]+$/;
const MAX_HEADERS = 100;
const latin1 = new TextDecoder("latin1");

/**
 * Parses the request head at the start of `buffer[0..end)`. Returns null
 * when the blank line ending it has not arrived yet; throws {@link
 * HttpError} for a head that breaks the rules or exceeds `maxBytes`.
 */
export function parseRequestHead(
  buffer: Uint8Array,
  options: { end: number; maxBytes: number },
): RequestHead | null {
  const end = findHeadEnd(buffer, options.end);
  if (end < 0) {
    // Fail at once on bytes that cannot start a request (a TLS handshake
    // sent to a plain port, say) rather than when the head times out.
    if (!plausibleStart(buffer, options.end)) {
      throw new HttpError(400, "This is not an HTTP/1.1 request.");
    }
    if (options.end >= options.maxBytes) {
      throw new HttpError(431, "Request header fields too large.");
    }
    return null;
  }
  const text = latin1.decode(buffer.subarray(0, end));
  const lines = text.split("\r\n");
  if (lines.some((line) => line.includes("\n") || line.includes("\r"))) {
    throw new HttpError(400, "Lines must end with CRLF.");
  }
  const [method, target, protocol, extra] = lines[0].split(" ");
  if (
    extra !== undefined || !method || !target || !TOKEN.test(method) ||
    !protocol
  ) {
    throw new HttpError(400, "Malformed request line.");
  }
  if (protocol !== "HTTP/1.1" && protocol !== "HTTP/1.0") {
    throw new HttpError(505, "Only HTTP/1.1 is served here.");
  }
  if (!target.startsWith("/") || !VISIBLE_ASCII.test(target)) {
    throw new HttpError(400, "The request target must be a path.");
  }
  // A path that URL parsing would change (`//host/x`, dot segments, even
  // percent-encoded ones) is served nowhere: routed by its normal form, it
  // would reach what a proxy in front matched against another.
  const path = target.split("?", 1)[0];
  if (new URL(path, "http://localhost").pathname !== path) {
    throw new HttpError(
      400,
      "The request target must be a plain path, without empty or dot segments.",
    );
  }
  const headers: [string, string][] = [];
  for (let i = 1; i < lines.length - 2; i++) {
    const line = lines[i];
    if (line.startsWith(" ") || line.startsWith("\t")) {
      throw new HttpError(400, "Folded header lines are not accepted.");
    }
    const colon = line.indexOf(":");
    const name = colon > 0 ? line.slice(0, colon) : "";
    const value = line.slice(colon + 1).trim();
    if (!TOKEN.test(name) || !FIELD_VALUE.test(value)) {
      throw new HttpError(400, "Malformed header field.");
    }
    headers.push([name.toLowerCase(), value]);
    if (headers.length > MAX_HEADERS) {
      throw new HttpError(431, "Too many header fields.");
    }
  }
  return {
    method,
    target,
    version: protocol === "HTTP/1.1" ? "1.1" : "1.0",
    headers,
    bytes: end,
  };
}

// Whether the bytes so far can begin a request line: a method token and a
// space, then nothing but visible characters and spaces up to the first CR.
function plausibleStart(buffer: Uint8Array, end: number): boolean {
  let i = 0;
  for (; i < end && buffer[i] !== 32; i++) {
    if (!TOKEN_BYTE[buffer[i]]) return false;
  }
  for (; i < end && buffer[i] !== 13; i++) {
    if (buffer[i] < 32 || buffer[i] > 126) return false;
  }
  return true;
}

const TOKEN_BYTE: boolean[] = Array.from(
  { length: 256 },
  (_, byte) => TOKEN.test(String.fromCharCode(byte)),
);

// Offset just past the blank line ending the head, or -1.
function findHeadEnd(buffer: Uint8Array, end: number): number {
  for (let i = 3; i < end; i++) {
    if (
      buffer[i] === 10 && buffer[i - 1] === 13 && buffer[i - 2] === 10 &&
      buffer[i - 3] === 13
    ) return i + 1;
  }
  return -1;
}

/**
 * Checks what a head says about its connection and body. Returns whether
 * the connection may stay open after the response; throws {@link
 * HttpError} for a request with a body or an ambiguous length.
 */
export function checkFraming(head: RequestHead): { keepAlive: boolean } {
  let hosts = 0;
  let keepAlive = head.version === "1.1";
  for (const [name, value] of head.headers) {
    if (name === "host") hosts++;
    else if (
      name === "transfer-encoding" ||
      (name === "content-length" && value !== "0")
    ) {
      throw new HttpError(
        400,
        "Request bodies are not accepted here: every endpoint is a GET.",
      );
    } else if (name === "connection") {
      const tokens = value.toLowerCase().split(",").map((t) => t.trim());
      if (tokens.includes("close")) keepAlive = false;
      else if (tokens.includes("keep-alive")) keepAlive = true;
    }
  }
  if (hosts > 1 || (hosts === 0 && head.version === "1.1")) {
    throw new HttpError(400, "A request needs exactly one Host header.");
  }
  return { keepAlive };
}

const STATUS_TEXT: Record<number, string> = {
  101: "Switching Protocols",
  200: "OK",
  204: "No Content",
  304: "Not Modified",
  400: "Bad Request",
  401: "Unauthorized",
  403: "Forbidden",
  404: "Not Found",
  405: "Method Not Allowed",
  408: "Request Timeout",
  413: "Content Too Large",
  421: "Misdirected Request",
  426: "Upgrade Required",
  431: "Request Header Fields Too Large",
  500: "Internal Server Error",
  501: "Not Implemented",
  503: "Service Unavailable",
  505: "HTTP Version Not Supported",
};

const encoder = new TextEncoder();

/**
 * Serializes a response head and body into one buffer. `keepAlive` decides
 * the `connection` header; a HEAD request gets the head alone.
 */
export function serializeResponse(
  response: { status: number; headers: Headers },
  options: { body: Uint8Array; keepAlive: boolean; head?: boolean },
): Uint8Array {
  const status = response.status;
  let text = `HTTP/1.1 ${status} ${STATUS_TEXT[status] ?? "Status"}\r\n`;
  const switching = status === 101;
  for (const [name, value] of response.headers) {
    if (!switching && (name === "content-length" || name === "connection")) {
      continue;
    }
    text += `${name}: ${value}\r\n`;
  }
  if (!switching) {
    text += `content-length: ${options.body.length}\r\n`;
    text += `connection: ${options.keepAlive ? "keep-alive" : "close"}\r\n`;
  }
  text += "\r\n";
  const head = encoder.encode(text);
  if (options.head || options.body.length === 0) return head;
  const out = new Uint8Array(head.length + options.body.length);
  out.set(head);
  out.set(options.body, head.length);
  return out;
}

/** A plain-text response, as errors are written. */
export function textResponse(
  status: number,
  message: string,
  headers: Record<string, string> = {},
): Response {
  return new Response(message + "\n", {
    status,
    headers: { "content-type": "text/plain; charset=utf-8", ...headers },
  });
}
