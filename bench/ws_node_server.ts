/**
 * A candidate baseline: the `ws` package on `node:http`, as Deno runs it,
 * with `maxPayload` (the limit enforced while parsing that
 * `Deno.upgradeWebSocket` lacks). The same broadcast loop as the others.
 */
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
// @ts-types="@types/ws"
import { type WebSocket, WebSocketServer } from "ws";
import { serveControl } from "./control.ts";

const http = createServer();
const wss = new WebSocketServer({ server: http, maxPayload: 512 * 1024 });
let offset = 0;
const subscribed = new Set<WebSocket>();

wss.on("connection", (socket) => {
  socket.on("message", (data) => {
    const message = JSON.parse(String(data));
    subscribed.add(socket);
    socket.send(JSON.stringify({
      type: "response",
      topic: message.topic,
      requestId: message.requestId,
      payload: { status: "subscribed", topic: message.topic },
      timestamp: new Date().toISOString(),
    }));
  });
  socket.on("close", () => subscribed.delete(socket));
});

await new Promise<void>((resolve) => http.listen(0, "127.0.0.1", resolve));
await serveControl((http.address() as AddressInfo).port, (payload) => {
  const frame = JSON.stringify({
    type: "event",
    topic: "events",
    payload,
    timestamp: new Date().toISOString(),
    offset: ++offset,
  });
  for (const socket of subscribed) socket.send(frame);
});
