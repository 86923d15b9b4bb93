/**
 * The schemas of the AsyncAPI document (`asyncapi.ts`): the valibot
 * schemas the server validates with and its clients read with, converted
 * by `@valibot/to-json-schema` (which throws on anything it cannot
 * convert), named, described, and with the seed's shapes deciding what is
 * required.
 *
 * @module
 */
import { toJsonSchemaDefs } from "@valibot/to-json-schema";
import * as v from "valibot";
import {
  ALWAYS_SENT,
  MESSAGE_NOTES,
  PAYLOAD_NOTES,
  SCHEMA_NOTES,
  type SchemaNote,
} from "./asyncapi_text.ts";
import {
  ClientEnvelopeSchema,
  clientPayloadSchemas,
  ClusterQuerySchema,
  EventsQuerySchema,
  NameSchema,
  NamespacedQuerySchema,
  NamespaceSchema,
  PositionSchema,
  SubscribePayloadSchema,
} from "./client_messages.ts";
import {
  ErrorMessageSchema,
  ErrorPayloadSchema,
  EventMessageSchema,
  ResponseMessageSchema,
  SubscribedPayloadSchema,
  TimestampSchema,
  TopicSchema,
} from "./messages.ts";
import {
  ChangeTypeSchema,
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
  SeveritySchema,
  ValidationEventSchema,
  ValidationIssueSchema,
} from "./payloads.ts";
import type { Topic } from "./shapes.ts";
import { TOPICS } from "./topics.ts";

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

/** One of {@link MESSAGE_KINDS}. */
export type MessageKind = typeof MESSAGE_KINDS[number];

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
    ChangeType: ChangeTypeSchema,
    ClusterEventType: ClusterEventSchema.entries.eventType,
    RolloutState: DeploymentSummarySchema.entries.rollout,
    Severity: SeveritySchema,
    InvolvedObject: KubernetesEventSchema.entries.involvedObject,
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
