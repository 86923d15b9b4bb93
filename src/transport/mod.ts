/**
 * Bytes on sockets: HTTP/1.1 requests and WebSocket messages on TCP or
 * TLS connections, with every limit a peer could exhaust enforced where
 * the bytes arrive. Knows nothing of topics, sessions or Kubernetes.
 *
 * @module
 */
export * from "./close.ts";
export * from "./frames.ts";
export * from "./frame_header.ts";
export * from "./frame_reader.ts";
export * from "./lifecycle.ts";
export * from "./progress.ts";
export * from "./utf8.ts";
export * from "./send_queue.ts";
export * from "./shedding.ts";
export * from "./websocket.ts";
export * from "./http1.ts";
export * from "./handshake.ts";
export * from "./http_exchange.ts";
export * from "./http_server.ts";
export * from "./file_limit.ts";
export * from "./read_loop.ts";
export * from "./writer.ts";
