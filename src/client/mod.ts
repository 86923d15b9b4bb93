/**
 * The dorgu-ws client library: one way to speak the protocol, for Deno,
 * browsers and Node 22+. Connect to a server (a token as a header or as
 * the `dorgu-ws` subprotocol; TLS options where the runtime has them),
 * send typed requests, and follow topics across reconnects, resuming with
 * `since` and re-listing when the server cannot replay.
 *
 * ```ts
 * import { Client } from "@dorgu/ws/client";
 *
 * const client = new Client("ws://localhost:9090/ws");
 * const { payload } = await client.request("personas", { namespace: "production" });
 * for (const persona of payload.personas) console.log(persona.name, persona.phase);
 * ```
 *
 * @module
 */
export {
  Client,
  type ClientOptions,
  type FollowExtras,
  MAX_WAITING_UPDATES,
  type Update,
  type WatchOptions,
} from "./client.ts";
export {
  type Channel,
  ChannelInbox,
  type ChannelListener,
  channelPair,
  type Dialer,
} from "./channel.ts";
export {
  type Closed,
  Connection,
  type OpenOptions,
  type SubscribedResponse,
  type SubscribeOptions,
} from "./connection.ts";
export {
  ConnectionError,
  type ConnectionFailure,
  DorguError,
  ProtocolError,
  ServerError,
} from "./errors.ts";
export { type CloseMeaning, closeMeaning } from "./close_codes.ts";
export { eventsAsText, readEvent } from "./events_as_text.ts";
export { explainConnectFailure } from "./failures.ts";
export {
  Follower,
  type FollowHandlers,
  type FollowOptions,
  type FollowState,
  type FollowTopic,
  type ListCause,
  type Listed,
  type Recovery,
  type TopicRecovery,
} from "./follow.ts";
export type { TlsOptions } from "./tls.ts";
export {
  type EventOf,
  type ItemOf,
  itemsOf,
  type ListingOf,
  type QueryOf,
  type TopicEvent,
  type TopicResponse,
  type TopicTypes,
} from "./topics.ts";
export {
  type SocketInit,
  subprotocols,
  type TokenCarrier,
  webSocketDialer,
  type WebSocketDialOptions,
  type WebSocketLike,
} from "./websocket.ts";
export type { BackoffOptions } from "../retry.ts";
export type {
  ChangeType,
  ClusterEvent,
  ClusterInfo,
  DeploymentEvent,
  DeploymentSummary,
  ErrorCode,
  ErrorMessage,
  ErrorPayload,
  EventMessage,
  EventsTopicPayload,
  KubernetesEvent,
  PersonaEvent,
  PersonaSummary,
  PersonaValidation,
  Position,
  ResponseMessage,
  ServerMessage,
  SubscribedPayload,
  Topic,
  ValidationEvent,
  ValidationIssue,
} from "../protocol/mod.ts";
