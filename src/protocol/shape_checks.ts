/**
 * Holds each type of `shapes.ts` equal to its schema's output: if a schema
 * changes and its type does not (or the other way round), `deno task
 * check` fails here. Types only; nothing here runs.
 *
 * @module
 */
import type * as v from "valibot";
import type * as c from "./client_messages.ts";
import type * as m from "./messages.ts";
import type * as p from "./payloads.ts";
import type * as s from "./shapes.ts";
import type { TOPICS } from "./topics.ts";

/** `true` when `A` and `B` are the same type. */
export type Same<A, B> = (<X>() => X extends A ? 1 : 2) extends
  (<X>() => X extends B ? 1 : 2) ? true : false;
/** What schema `S` gives. */
export type Out<S extends v.GenericSchema> = v.InferOutput<S>;

/** Every pair must be `true`. */
export type ShapeChecks = [
  Same<s.Topic, typeof TOPICS[number]>,
  Same<s.ErrorCode, typeof m.ERROR_CODES[number]>,
  Same<s.Position, Out<typeof c.PositionSchema>>,
  Same<s.EventMessage, Out<typeof m.EventMessageSchema>>,
  Same<s.ResponseMessage, Out<typeof m.ResponseMessageSchema>>,
  Same<s.ErrorPayload, Out<typeof m.ErrorPayloadSchema>>,
  Same<s.ErrorMessage, Out<typeof m.ErrorMessageSchema>>,
  Same<s.ServerMessage, Out<typeof m.ServerMessageSchema>>,
  Same<s.SubscribedPayload, Out<typeof m.SubscribedPayloadSchema>>,
  Same<s.ValidationIssue, Out<typeof p.ValidationIssueSchema>>,
  Same<s.PersonaValidation, Out<typeof p.PersonaValidationSchema>>,
  Same<s.PersonaSummary, Out<typeof p.PersonaSummarySchema>>,
  Same<s.ClusterInfo, Out<typeof p.ClusterInfoSchema>>,
  Same<s.DeploymentSummary, Out<typeof p.DeploymentSummarySchema>>,
  Same<s.PersonaEvent, Out<typeof p.PersonaEventSchema>>,
  Same<s.ClusterEvent, Out<typeof p.ClusterEventSchema>>,
  Same<s.ValidationEvent, Out<typeof p.ValidationEventSchema>>,
  Same<s.KubernetesEvent, Out<typeof p.KubernetesEventSchema>>,
  Same<s.EventsTopicPayload, Out<typeof p.EventsTopicPayloadSchema>>,
  Same<s.DeploymentEvent, Out<typeof p.DeploymentEventSchema>>,
];

type AllTrue<T extends true[]> = T;
/** Fails to compile unless every check in {@link ShapeChecks} holds. */
export type ShapesHold = AllTrue<ShapeChecks>;
