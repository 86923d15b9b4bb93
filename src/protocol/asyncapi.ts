/**
 * The protocol as an AsyncAPI 3.0 document, generated from the valibot
 * schemas the server validates with (`asyncapi_schemas.ts`), so the
 * document cannot say one thing while the server checks another. Written
 * to `docs/asyncapi.json` by `deno task asyncapi`, served at
 * `GET /asyncapi.json`.
 *
 * @module
 */
import { VERSION } from "../version.ts";
import {
  contractSchemas,
  type Json,
  MESSAGE_KINDS,
  type MessageKind,
  messageName,
  SCHEMA_REF,
  topicTitle,
} from "./asyncapi_schemas.ts";
import { CLOSE_CODES, INTRODUCTION, MESSAGE_NOTES } from "./asyncapi_text.ts";
import type { Topic } from "./shapes.ts";
import { TOPICS } from "./topics.ts";

const ref = ($ref: string) => ({ $ref });

const WS_BINDING = {
  method: "GET",
  headers: {
    type: "object",
    properties: {
      Authorization: {
        type: "string",
        pattern: "^[Bb]earer \\S+$",
        description:
          "`Bearer TOKEN` when the server runs with --auth token or --auth kubernetes.",
      },
      "Sec-WebSocket-Protocol": {
        type: "string",
        description:
          "Optional. Browsers offer `dorgu-ws` and `bearer.<base64url token>` (the token without padding) instead of an Authorization header; the server selects `dorgu-ws`.",
      },
      Origin: {
        type: "string",
        description:
          "Sent by browsers: refused with 403 unless it is the server's own or allowed by --allowed-origins. Clients that send none are accepted.",
      },
    },
  },
  bindingVersion: "0.1.0",
};

/** The message objects of one topic, by message name. */
function topicMessageObjects(topic: Topic): Record<string, Json> {
  const objects: Record<string, Json> = {};
  for (const kind of MESSAGE_KINDS) {
    const name = messageName(topic, kind);
    objects[name] = {
      name,
      title: `${kind} (${topic})`,
      summary: MESSAGE_NOTES[kind].description,
      contentType: "application/json",
      payload: ref(`${SCHEMA_REF}${name}`),
    };
  }
  return objects;
}

/** The topic's channel: the one /ws socket, its messages on this topic. */
function channel(topic: Topic): Json {
  const messages: Record<string, Json> = {};
  for (const kind of MESSAGE_KINDS) {
    const name = messageName(topic, kind);
    messages[name] = ref(`#/components/messages/${name}`);
  }
  messages.ErrorMessage = ref("#/components/messages/ErrorMessage");
  return {
    address: "/ws",
    title: topic,
    description:
      `The ${topic} topic: the messages whose \`topic\` is \`${topic}\`, on the one WebSocket every topic shares.`,
    messages,
    bindings: { ws: WS_BINDING },
  };
}

/** The topic's operations: subscribe, unsubscribe, request, and its events. */
function operations(topic: Topic): Record<string, Json> {
  const channelRef = ref(`#/channels/${topic}`);
  const message = (kind: MessageKind | "Error") =>
    ref(
      `#/channels/${topic}/messages/${
        kind === "Error" ? "ErrorMessage" : messageName(topic, kind)
      }`,
    );
  const call = (sent: MessageKind, answer: MessageKind, summary: string) => ({
    action: "send",
    channel: channelRef,
    summary,
    messages: [message(sent)],
    reply: {
      channel: channelRef,
      messages: [message(answer), message("Error")],
    },
  });
  const title = topicTitle(topic);
  return {
    [`subscribe${title}`]: call(
      "Subscribe",
      "Subscribed",
      `Subscribe to ${topic} events`,
    ),
    [`unsubscribe${title}`]: call(
      "Unsubscribe",
      "Unsubscribed",
      `Stop ${topic} events`,
    ),
    [`request${title}`]: call("Request", "Response", `Read ${topic} now`),
    [`receive${title}Events`]: {
      action: "receive",
      channel: channelRef,
      summary: `${title} events, after subscribing`,
      messages: [message("Event")],
    },
  };
}

/** The servers: plain and TLS, host and port to be filled in. */
function servers(): Json {
  const server = (protocol: "ws" | "wss", description: string) => ({
    host: "{host}:{port}",
    protocol,
    description,
    variables: {
      host: { default: "localhost", description: "The server's host name." },
      port: { default: "9090", description: "--websocket-addr's port." },
    },
    security: [
      ref("#/components/securitySchemes/bearer"),
      ref("#/components/securitySchemes/subprotocol"),
    ],
  });
  return {
    plain: server("ws", "dorgu-ws without TLS (the default)."),
    tls: server(
      "wss",
      "dorgu-ws with --tls-cert-file and --tls-private-key-file.",
    ),
  };
}

/** The whole AsyncAPI 3.0 document. */
export function asyncApiDocument(): Json {
  const messages: Record<string, Json> = {
    ErrorMessage: {
      name: "ErrorMessage",
      title: "Error",
      summary: "A message could not be served.",
      contentType: "application/json",
      payload: ref(`${SCHEMA_REF}ErrorMessage`),
    },
  };
  const channels: Record<string, Json> = {};
  let allOperations: Record<string, Json> = {};
  for (const topic of TOPICS) {
    Object.assign(messages, topicMessageObjects(topic));
    channels[topic] = channel(topic);
    allOperations = { ...allOperations, ...operations(topic) };
  }
  return {
    asyncapi: "3.0.0",
    info: {
      title: "dorgu-ws",
      version: VERSION,
      description: INTRODUCTION,
    },
    defaultContentType: "application/json",
    servers: servers(),
    channels,
    operations: allOperations,
    components: {
      schemas: contractSchemas(),
      messages,
      securitySchemes: {
        bearer: {
          type: "http",
          scheme: "bearer",
          description:
            "`Authorization: Bearer TOKEN` on the upgrade: a token from --token-file (--auth token) or a Kubernetes bearer token (--auth kubernetes). Not needed without --auth.",
        },
        subprotocol: {
          type: "httpApiKey",
          in: "header",
          name: "Sec-WebSocket-Protocol",
          description:
            "For browsers: offer `dorgu-ws, bearer.<base64url token>`; the server selects `dorgu-ws`.",
        },
      },
    },
    "x-dorgu-ws-close-codes": CLOSE_CODES,
  };
}

/** The document as `docs/asyncapi.json` holds it and the server serves it. */
export function asyncApiText(): string {
  return JSON.stringify(asyncApiDocument(), null, 2) + "\n";
}
