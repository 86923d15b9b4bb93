/**
 * The topic registry, histories, client sessions and fan-out. Knows
 * nothing of Kubernetes or HTTP: sources publish into it, the server
 * attaches sessions to it, and sessions hand frames to their sockets.
 *
 * @module
 */
export * from "./ring_buffer.ts";
export * from "./history.ts";
export * from "./session.ts";
export * from "./hub.ts";
