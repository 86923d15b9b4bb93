/**
 * A candidate baseline: the plainest broadcast loop on dorgu-ws's own
 * transport (src/transport/: HTTP/1.1 and RFC 6455 on `Deno.listen`, limits
 * enforced while parsing). One JSON.stringify and one frame encoding per
 * event, one queued send per socket. Measured beside the bare
 * `Deno.upgradeWebSocket` loop to price the transport itself.
 */
import { encodeText } from "../src/transport/frames.ts";
import { HttpServer } from "../src/transport/http_server.ts";
import type { WebSocketConnection } from "../src/transport/websocket.ts";
import { serveControl } from "./control.ts";

const sockets = new Set<WebSocketConnection>();
let offset = 0;

const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
new HttpServer(listener, {
  handler: (_request, info) => {
    const { socket, response } = info.upgrade();
    socket.handlers = {
      text(s, text) {
        const message = JSON.parse(text);
        sockets.add(s);
        s.send(
          encodeText(JSON.stringify({
            type: "response",
            topic: message.topic,
            requestId: message.requestId,
            payload: { status: "subscribed", topic: message.topic },
            timestamp: new Date().toISOString(),
          })),
          "reply",
        );
      },
      binary() {},
      closed(s) {
        sockets.delete(s);
      },
    };
    return response;
  },
  limits: {
    maxWebSockets: 1_000_000,
    maxHttp: 1024,
    headerTimeoutMs: 10_000,
    writeTimeoutMs: 10_000,
    maxHeadBytes: 16 * 1024,
  },
  websocket: {
    maxMessageBytes: 512 * 1024,
    maxMessageFrames: 131_072,
    messageTimeoutMs: 10_000,
    sendBufferMessages: 1_000_000,
    sendBufferBytes: 1 << 30,
    pingIntervalMs: 30_000,
    readTimeoutMs: 60_000,
    writeTimeoutMs: 60_000,
  },
});

await serveControl((listener.addr as Deno.NetAddr).port, (payload) => {
  const frame = encodeText(JSON.stringify({
    type: "event",
    topic: "events",
    payload,
    timestamp: new Date().toISOString(),
    offset: ++offset,
  }));
  for (const socket of sockets) socket.send(frame, "event");
});
