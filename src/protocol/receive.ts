/**
 * Reading what a server sent: one text frame into a {@link ServerMessage},
 * an event's payload checked against its topic's schema. The client and
 * the dashboard both read messages with it, so both refuse the same drift
 * from the contract, in the same words.
 *
 * @module
 */
import * as v from "valibot";
import { ServerMessageSchema } from "./messages.ts";
import type { ServerMessage } from "./shapes.ts";
import { describeIssues } from "./issues.ts";
import { EVENT_PAYLOADS } from "./payloads.ts";

/** A server message, or why it is not one. */
export type ReadMessage =
  | { ok: true; message: ServerMessage }
  | { ok: false; reason: string };

/** Reads one text frame from a server; never throws. */
export function readServerMessage(data: unknown): ReadMessage {
  let json: unknown;
  try {
    json = JSON.parse(String(data));
  } catch (error) {
    return { ok: false, reason: `not JSON: ${(error as Error).message}` };
  }
  const parsed = v.safeParse(ServerMessageSchema, json);
  if (!parsed.success) {
    return { ok: false, reason: describeIssues(parsed.issues, "") };
  }
  const message = parsed.output;
  if (message.type === "event") {
    const payload = v.safeParse(EVENT_PAYLOADS[message.topic], message.payload);
    if (!payload.success) {
      return { ok: false, reason: describeIssues(payload.issues, "payload") };
    }
  }
  return { ok: true, message };
}
