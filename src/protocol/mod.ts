/**
 * The dorgu-ws wire protocol: topics, message schemas, payload schemas and
 * the parser for client messages. Shared by the server and the client.
 *
 * @module
 */
export * from "./topics.ts";
export * from "./shapes.ts";
export * from "./messages.ts";
export * from "./client_messages.ts";
export * from "./issues.ts";
export * from "./payloads.ts";
export * from "./parse.ts";
export * from "./event_view.ts";
export * from "./receive.ts";
