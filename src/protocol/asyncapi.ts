/**
 * The protocol as an AsyncAPI 3.0 document, generated from the valibot
 * schemas the server validates with (`@valibot/to-json-schema`), so the
 * document cannot say one thing while the server checks another. Written
 * to `docs/asyncapi.json` by `deno task asyncapi` and served at
 * `GET /asyncapi.json`.
 *
 * @module
 */
import { toJsonSchemaDefs } from "@valibot/to-json-schema";
import * as v from "valibot";
import { VERSION } from "../version.ts";
import {
  ALWAYS_SENT,
  CLOSE_CODES,
  INTRODUCTION,
  MESSAGE_NOTES,
  PAYLOAD_NOTES,
  SCHEMA_NOTES,
  type SchemaNote,
} from "./asyncapi_text.ts";
import {
  ClientEnvelopeSchema,
  clientPayloadSchemas,
  ClusterQuerySchema,
  ErrorMessageSchema,
  ErrorPayloadSchema,
  EventMessageSchema,
  EventsQuerySchema,
  NameSchema,
  NamespacedQuerySchema,
  NamespaceSchema,
  PositionSchema,
  ResponseMessageSchema,
  SubscribedPayloadSchema,
  SubscribePayloadSchema,
  TimestampSchema,
  TopicSchema,
} from "./messages.ts";
import {
  ClusterEventSchema,
  ClusterInfoSchema,
  DeploymentEventSchema,
  DeploymentSummarySchema,
  EVENT_PAYLOADS,
  EventsTopicPayloadSchema,
  KubernetesEventSchema,
  LISTING_PAYLOADS,
  PersonaEventSchema,
  PersonaSummarySchema,
  PersonaValidationSchema,
  ValidationEventSchema,
  ValidationIssueSchema,
} from "./payloads.ts";
import { type Topic, TOPICS } from "./topics.ts";

/** A JSON object. */
export type Json = Record<string, unknown>;

/** Where the document keeps its schemas. */
export const SCHEMA_REF = "#/components/schemas/";

/**
 * Payload of the `response` to `unsubscribe`. Here, not with the other
 * payloads: no client reads it, and the dashboard's bundle keeps every
 * schema in the modules it imports.
 */
const UnsubscribedPayloadSchema = v.object({
  status: v.literal("unsubscribed"),
  topic: TopicSchema,
});

/** The message kinds each topic has, client's first. */
export const MESSAGE_KINDS = [
  "Subscribe",
  "Unsubscribe",
  "Request",
  "Subscribed",
  "Unsubscribed",
  "Response",
  "Event",
] as const;

type MessageKind = typeof MESSAGE_KINDS[number];

/** `personas` -> `Personas`. */
export function topicTitle(topic: Topic): string {
  return topic[0].toUpperCase() + topic.slice(1);
}

/** The schemas every topic shares, by the name the document gives them. */
function sharedSchemas(): Record<string, v.GenericSchema> {
  const requestId = ClientEnvelopeSchema.entries.requestId.wrapped;
  return {
    Topic: TopicSchema,
    Namespace: NamespaceSchema,
    Name: NameSchema,
    RequestId: requestId,
    Timestamp: TimestampSchema,
    Position: PositionSchema,
    SubscribePayload: SubscribePayloadSchema,
    ClusterSubscribePayload: clientPayloadSchemas().subscribe.cluster,
    NamespacedQuery: NamespacedQuerySchema,
    ClusterQuery: ClusterQuerySchema,
    EventsQuery: EventsQuerySchema,
    SubscribedPayload: SubscribedPayloadSchema,
    UnsubscribedPayload: UnsubscribedPayloadSchema,
    ErrorCode: ErrorPayloadSchema.entries.code,
    ErrorPayload: ErrorPayloadSchema,
    ErrorMessage: ErrorMessageSchema,
    ValidationIssue: ValidationIssueSchema,
    PersonaValidation: PersonaValidationSchema,
    PersonaSummary: PersonaSummarySchema,
    ClusterInfo: ClusterInfoSchema,
    DeploymentSummary: DeploymentSummarySchema,
    PersonaEvent: PersonaEventSchema,
    ClusterEvent: ClusterEventSchema,
    ValidationEvent: ValidationEventSchema,
    KubernetesEvent: KubernetesEventSchema,
    EventsTopicPayload: EventsTopicPayloadSchema,
    DeploymentEvent: DeploymentEventSchema,
    PersonasListing: LISTING_PAYLOADS.personas,
    DeploymentsListing: LISTING_PAYLOADS.deployments,
    EventsListing: LISTING_PAYLOADS.events,
  };
}

/** Every message of one topic as it travels: the whole frame. */
function topicMessages(topic: Topic): Record<MessageKind, v.GenericSchema> {
  const sent = (type: string, payload: v.GenericSchema) =>
    v.object({
      type: v.literal(type),
      topic: v.literal(topic),
      requestId: ClientEnvelopeSchema.entries.requestId,
      payload: v.optional(payload),
      timestamp: ClientEnvelopeSchema.entries.timestamp,
    });
  const answer = (payload: v.GenericSchema) =>
    v.object({
      ...ResponseMessageSchema.entries,
      topic: v.literal(topic),
      payload,
    });
  return {
    Subscribe: sent("subscribe", clientPayloadSchemas().subscribe[topic]),
    Unsubscribe: sent("unsubscribe", ClientEnvelopeSchema.entries.payload),
    Request: sent("request", clientPayloadSchemas().request[topic]),
    Subscribed: answer(SubscribedPayloadSchema),
    Unsubscribed: answer(UnsubscribedPayloadSchema),
    Response: answer(LISTING_PAYLOADS[topic]),
    Event: v.object({
      ...EventMessageSchema.entries,
      topic: v.literal(topic),
      payload: EVENT_PAYLOADS[topic],
    }),
  };
}

/** The name of a topic's message of `kind`, as schema and as message. */
export function messageName(topic: Topic, kind: MessageKind): string {
  return `${topicTitle(topic)}${kind}Message`;
}

/**
 * Applies a note to a converted schema: descriptions, and the fields
 * dorgu-ws always sends moved from `required` to {@link ALWAYS_SENT}. Throws when the note names
 * a field the schema lacks, so a renamed field cannot leave a stale note.
 */
function annotate(name: string, schema: Json, note: SchemaNote): void {
  schema.description = note.description;
  const properties = (schema.properties ?? {}) as Record<string, Json>;
  for (const [field, text] of Object.entries(note.fields ?? {})) {
    if (!properties[field]) {
      throw new Error(`The note on ${name} names no field ${field}.`);
    }
    properties[field].description = text;
  }
  const always = note.alwaysSent ?? [];
  for (const field of always) {
    if (!properties[field]) {
      throw new Error(`The note on ${name} names no field ${field}.`);
    }
  }
  if (always.length) {
    const required = (schema.required ?? []) as string[];
    schema.required = required.filter((field) => !always.includes(field));
    schema[ALWAYS_SENT] = always;
  }
  if ((schema.required as string[] | undefined)?.length === 0) {
    delete schema.required;
  }
}

/** Every schema of the document, converted and annotated, by name. */
export function contractSchemas(): Record<string, Json> {
  const valibot: Record<string, v.GenericSchema> = sharedSchemas();
  const notes: Record<string, SchemaNote> = {
    ...SCHEMA_NOTES,
    ...PAYLOAD_NOTES,
  };
  for (const topic of TOPICS) {
    for (const [kind, schema] of Object.entries(topicMessages(topic))) {
      const name = messageName(topic, kind as MessageKind);
      if (valibot[name]) throw new Error(`Two schemas are named ${name}.`);
      valibot[name] = schema;
      const note = MESSAGE_NOTES[kind];
      notes[name] = { ...note, description: `${note.description}` };
    }
  }
  const schemas = toJsonSchemaDefs(valibot, {
    overrideRef: ({ referenceId }) => `${SCHEMA_REF}${referenceId}`,
  }) as Record<string, Json>;
  for (const [name, schema] of Object.entries(schemas)) {
    const note = notes[name];
    if (!note) throw new Error(`The schema ${name} has no note.`);
    annotate(name, schema, note);
  }
  return schemas;
}

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
