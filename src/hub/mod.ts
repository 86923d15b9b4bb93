/**
 * The topic registry, ring buffers, client sessions and fan-out. Knows
 * nothing of Kubernetes or HTTP: sources publish into it, the server
 * attaches sockets to it.
 *
 * @module
 */
export * from "./ring_buffer.ts";
export * from "./session.ts";
export * from "./hub.ts";
export * from "./dispatch.ts";
export * from "./histogram.ts";
