/**
 * dorgu-ws under benchmark: the real server (`startServer`, the same hub,
 * sessions and send path as production) with a source that publishes what
 * bench/run.ts asks for over stdin.
 *
 * @module
 */
import { createLogger } from "../src/log.ts";
import { DEFAULT_CONFIG } from "../src/server/config.ts";
import { startServer } from "../src/server/serve.ts";
import { serveControl } from "./control.ts";

const server = await startServer({
  ...DEFAULT_CONFIG,
  hostname: "127.0.0.1",
  port: 0,
  maxConnections: 1_000_000,
  // The load clients open every connection at once; the default (256
  // waiting for their upgrade) would churn them out as if they were
  // slow-loris sockets.
  maxPendingConnections: 100_000,
  source: "bench",
}, {
  log: createLogger({ level: "warn" }),
  source: () => ({ start: () => Promise.resolve(), stop: () => {} }),
});

await serveControl(server.addr.port, (payload) => {
  server.hub.publish("events", payload, {
    namespace: "bench",
    name: payload.name,
  });
});
