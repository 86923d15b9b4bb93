/**
 * A candidate baseline: the plainest broadcast loop on dorgu-ws's own
 * transport (src/transport/: HTTP/1.1 and RFC 6455 on `Deno.listen`, limits
 * enforced while parsing). One JSON.stringify and one frame encoding per
 * event, one queued send per socket. Measured beside the bare
 * `Deno.upgradeWebSocket` loop to price the transport itself.
 *
 * With `--echo [MAX_MESSAGE_BYTES]` it sends every message back instead,
 * with the limits `dorgu-ws serve` has by default (the message size
 * raised if given), as the Autobahn TestSuite's fuzzing client expects of
 * a server (`deno task autobahn`).
 *
 * @module
 */
import { DEFAULT_CONFIG } from "../src/server/config.ts";
import { encodeFrame, encodeText, OPCODE } from "../src/transport/frames.ts";
import { HttpServer } from "../src/transport/http_server.ts";
import type {
  WebSocketConnection,
  WebSocketHandlers,
  WebSocketLimits,
} from "../src/transport/websocket.ts";
import { eventFrame, serveControl, subscribedReply } from "./control.ts";

const sockets = new Set<WebSocketConnection>();
let offset = 0;
const echoAt = Deno.args.indexOf("--echo");

const ECHO: WebSocketHandlers = {
  text: (s, text) => s.send(encodeText(text), "reply"),
  binary: (s, _bytes, data) =>
    s.send(encodeFrame(OPCODE.binary, data ?? new Uint8Array(0)), "reply"),
  closed() {},
};

// What `dorgu-ws serve` gives a client by default.
const SERVE_LIMITS: WebSocketLimits = {
  maxMessageBytes: Number(Deno.args[echoAt + 1] ?? 0) ||
    DEFAULT_CONFIG.maxMessageBytes,
  maxMessageFrames: DEFAULT_CONFIG.maxMessageFrames,
  messageTimeoutMs: DEFAULT_CONFIG.messageTimeoutMs,
  sendBufferMessages: DEFAULT_CONFIG.sendBuffer,
  sendBufferBytes: DEFAULT_CONFIG.sendBufferBytes,
  pingIntervalMs: DEFAULT_CONFIG.readTimeoutMs / 2,
  readTimeoutMs: DEFAULT_CONFIG.readTimeoutMs,
  writeTimeoutMs: DEFAULT_CONFIG.writeTimeoutMs,
};

const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
new HttpServer(listener, {
  keepBinary: echoAt >= 0,
  handler: (_request, info) => {
    const { socket, response } = info.upgrade();
    if (echoAt >= 0) {
      socket.handlers = ECHO;
      return response;
    }
    socket.handlers = {
      text(s, text) {
        sockets.add(s);
        s.send(encodeText(subscribedReply(text, offset)), "reply");
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
  websocket: echoAt >= 0 ? SERVE_LIMITS : {
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
  const frame = encodeText(eventFrame(payload, ++offset));
  for (const socket of sockets) socket.send(frame, "event");
});
