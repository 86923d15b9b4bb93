/**
 * A candidate baseline: the `ws` package on `node:http`, as Deno runs it,
 * with `maxPayload` (the limit enforced while parsing that
 * `Deno.upgradeWebSocket` lacks). The same broadcast loop as the others.
 *
 * @module
 */
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
// @ts-types="@types/ws"
import { type WebSocket, WebSocketServer } from "ws";
import { eventFrame, serveControl, subscribedReply } from "./control.ts";

const http = createServer();
const wss = new WebSocketServer({ server: http, maxPayload: 512 * 1024 });
let offset = 0;
const subscribed = new Set<WebSocket>();

wss.on("connection", (socket) => {
  socket.on("message", (data) => {
    subscribed.add(socket);
    socket.send(subscribedReply(String(data), offset));
  });
  socket.on("close", () => subscribed.delete(socket));
});

await new Promise<void>((resolve) => http.listen(0, "127.0.0.1", resolve));
await serveControl((http.address() as AddressInfo).port, (payload) => {
  const frame = eventFrame(payload, ++offset);
  for (const socket of subscribed) socket.send(frame);
});
