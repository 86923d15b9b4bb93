/**
 * Turns one inbound text frame into a {@link ClientMessage}, or into the
 * error the client gets back. Never throws: any input has an answer.
 *
 * @module
 */
import * as v from "valibot";
import {
  CLIENT_MESSAGE_TYPES,
  ClientEnvelopeSchema,
  type ClientMessage,
  clientPayloadSchemas,
  type Query,
} from "./client_messages.ts";
import { describeIssues } from "./issues.ts";
import type { ErrorPayload, Topic } from "./shapes.ts";
import { isTopic, TOPICS } from "./topics.ts";

/** The outcome of {@link parseClientMessage}. */
export type ParseResult =
  | { ok: true; message: ClientMessage }
  | { ok: false; error: ErrorPayload; requestId?: string; topic?: string };

const MAX_ECHOED_ID = 256;

/**
 * Parses and validates a client message. On failure the result still carries
 * whatever `requestId` and `topic` could be read, so the reply can echo them
 * and a client waiting on that id does not hang.
 */
export function parseClientMessage(text: string): ParseResult {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    return {
      ok: false,
      error: {
        code: "invalid_json",
        message: `The message is not valid JSON (${
          (error as Error).message
        }); send one JSON object per text frame.`,
      },
    };
  }
  if (raw === null || typeof raw !== "object" || Array.isArray(raw)) {
    return {
      ok: false,
      error: {
        code: "invalid_message",
        message:
          'A message must be a JSON object such as {"type":"subscribe","topic":"personas"}.',
      },
    };
  }
  const record = raw as Record<string, unknown>;
  const echo = {
    requestId: typeof record.requestId === "string" &&
        record.requestId.length <= MAX_ECHOED_ID
      ? record.requestId
      : undefined,
    topic: typeof record.topic === "string" &&
        record.topic.length <= MAX_ECHOED_ID
      ? record.topic
      : undefined,
  };
  const fail = (code: ErrorPayload["code"], message: string): ParseResult => ({
    ok: false,
    error: { code, message },
    ...echo,
  });

  const envelope = v.safeParse(ClientEnvelopeSchema, raw);
  if (!envelope.success) {
    return fail("invalid_message", describeIssues(envelope.issues, ""));
  }
  const { type, topic, requestId, payload } = envelope.output;
  if (!(CLIENT_MESSAGE_TYPES as readonly string[]).includes(type)) {
    return fail(
      "unknown_message_type",
      `Unknown message type ${
        JSON.stringify(clip(type))
      }; a client sends subscribe, unsubscribe or request.`,
    );
  }
  if (topic === undefined) {
    return fail(
      "invalid_message",
      `topic is required; use one of ${TOPICS.join(", ")}.`,
    );
  }
  if (!isTopic(topic)) {
    return fail(
      "unknown_topic",
      `Unknown topic ${JSON.stringify(clip(topic))}; topics are ${
        TOPICS.join(", ")
      }.`,
    );
  }

  if (type === "unsubscribe") {
    return { ok: true, message: { type, topic, requestId } };
  }
  if (type === "subscribe") {
    const parsed = v.safeParse(
      clientPayloadSchemas().subscribe[topic],
      payload ?? {},
    );
    if (!parsed.success) {
      return fail("invalid_message", describeIssues(parsed.issues, "payload"));
    }
    const { namespace, name, since } = parsed.output;
    return {
      ok: true,
      message: { type, topic, requestId, filter: { namespace, name }, since },
    };
  }
  const query = parseQuery(topic, payload ?? {});
  if (!query.success) {
    return fail("invalid_message", describeIssues(query.issues, "payload"));
  }
  return {
    ok: true,
    message: { type: "request", topic, requestId, query: query.output },
  };
}

type QueryResult =
  | { success: true; output: Query }
  | { success: false; issues: v.BaseIssue<unknown>[] };

function parseQuery(topic: Topic, payload: unknown): QueryResult {
  const parsed = v.safeParse(clientPayloadSchemas().request[topic], payload);
  // Each topic's schema reads that topic's fields of Query.
  return parsed.success
    ? { success: true, output: { topic, ...parsed.output } as Query }
    : { success: false, issues: parsed.issues };
}

function clip(text: string): string {
  return text.length > 64 ? `${text.slice(0, 64)}...` : text;
}
