/**
 * The baseline: the plainest Deno broadcast server there is. `Deno.serve`,
 * `Deno.upgradeWebSocket`, a Set of sockets, one JSON.stringify per event
 * and a `send` per socket. It answers `subscribe` just enough for the load
 * clients to use it the same way as dorgu-ws. Driven by bench/run.ts over
 * stdin with the commands in bench/control.ts.
 *
 * With `--echo` it sends every message back instead, as the Autobahn
 * TestSuite's fuzzing client expects of a server (`deno task autobahn`).
 *
 * @module
 */
import { eventFrame, serveControl, subscribedReply } from "./control.ts";

const sockets = new Set<WebSocket>();
let offset = 0;
const echo = Deno.args.includes("--echo");

const server = Deno.serve({
  hostname: "127.0.0.1",
  port: 0,
  onListen: () => {},
}, (request) => {
  // The same keepalive as dorgu-ws (a ping after 30 s of silence), so both
  // carry the same background traffic.
  const { socket, response } = Deno.upgradeWebSocket(request, {
    idleTimeout: 60,
  });
  socket.binaryType = "arraybuffer";
  socket.onmessage = (event) => {
    if (echo) return socket.send(event.data);
    sockets.add(socket);
    socket.send(subscribedReply(event.data as string, offset));
  };
  socket.onclose = () => sockets.delete(socket);
  return response;
});

await serveControl(server.addr.port, (payload) => {
  const frame = eventFrame(payload, ++offset);
  for (const socket of sockets) socket.send(frame);
});
