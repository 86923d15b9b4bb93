/**
 * The WebSocket opening handshake (RFC 6455 section 4.2): what makes a
 * request a valid upgrade, and the accept key the response carries.
 *
 * @module
 */
import { createHash } from "node:crypto";
import { HttpError } from "./http1.ts";

const GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

function tokens(value: string | null): string[] {
  return (value ?? "").toLowerCase().split(",").map((t) => t.trim());
}

/**
 * Checks that `request` asks for a WebSocket and returns the
 * `Sec-WebSocket-Accept` value for its key. Throws {@link HttpError}: 426
 * for a plain GET or another WebSocket version, 400 for anything else.
 */
export function acceptUpgrade(request: Request): string {
  const headers = request.headers;
  if (request.method !== "GET") {
    throw new HttpError(400, "A WebSocket upgrade must be a GET.");
  }
  if (!tokens(headers.get("upgrade")).includes("websocket")) {
    throw new HttpError(
      426,
      "This endpoint speaks WebSocket: connect with a WebSocket client.",
    );
  }
  if (!tokens(headers.get("connection")).includes("upgrade")) {
    throw new HttpError(400, "The Connection header must include Upgrade.");
  }
  if (headers.get("sec-websocket-version") !== "13") {
    throw new HttpError(426, "Only WebSocket version 13 is spoken here.");
  }
  const key = headers.get("sec-websocket-key") ?? "";
  if (!/^[A-Za-z0-9+/]{22}==$/.test(key)) {
    throw new HttpError(400, "Sec-WebSocket-Key must be 16 bytes in base64.");
  }
  return createHash("sha1").update(key + GUID).digest("base64");
}

/** The subprotocols a request offers, in its order. */
export function offeredProtocols(request: Request): string[] {
  return (request.headers.get("sec-websocket-protocol") ?? "").split(",")
    .map((p) => p.trim()).filter(Boolean);
}
