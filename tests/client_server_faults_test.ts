/**
 * The CLI client against servers that are not simply there: one that
 * wants a token, one that upgrades and then hangs, one that breaks the
 * protocol. Each ends in one clear line.
 */
import assert from "node:assert/strict";
import { serveFake } from "./support/fake_server.ts";
import { runCli, spawnGuardedExample } from "./support/server.ts";

const unsanitized = { sanitizeOps: false, sanitizeResources: false };

Deno.test({
  name:
    "a server that requires a token: --token, DORGU_WS_TOKEN, and a clear refusal",
  ...unsanitized,
  async fn() {
    const { server, url } = await spawnGuardedExample();
    try {
      const none = await runCli(["get", "cluster", "--url", url]);
      assert.equal(none.code, 1);
      assert.match(
        none.stderr.trim(),
        /requires a token \(HTTP 401\); pass --token or set DORGU_WS_TOKEN\.$/,
      );
      const wrong = await runCli([
        "get",
        "cluster",
        "--url",
        url,
        "--token",
        "nope",
      ]);
      assert.match(wrong.stderr.trim(), /refused the token \(HTTP 401\)/);
      const flag = await runCli([
        "get",
        "cluster",
        "--url",
        url,
        "--token",
        "s3cret",
      ]);
      assert.equal(flag.code, 0, flag.stderr);
      const env = await runCli(["get", "cluster", "--url", url], {
        env: { DORGU_WS_TOKEN: "s3cret" },
      });
      assert.equal(env.code, 0, env.stderr);
    } finally {
      await server.stop();
    }
  },
});

Deno.test({
  name:
    "a server that upgrades, then neither answers nor ever closes: watch ends in one line soon after --timeout",
  ...unsanitized,
  async fn() {
    // Accepts the upgrade, then reads and ignores everything, the close
    // frame included: Deno's WebSocket would wait for its answer for ever.
    const mute = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const held: Deno.Conn[] = [];
    (async () => {
      for await (const conn of mute) {
        held.push(conn);
        (async () => {
          const buffer = new Uint8Array(16384);
          const read = await conn.read(buffer);
          const head = new TextDecoder().decode(buffer.subarray(0, read ?? 0));
          const key = /sec-websocket-key: *(\S+)/i.exec(head)?.[1] ?? "";
          const digest = await crypto.subtle.digest(
            "SHA-1",
            new TextEncoder().encode(
              `${key}258EAFA5-E914-47DA-95CA-C5AB0DC11799`,
            ),
          );
          const accept = btoa(String.fromCharCode(...new Uint8Array(digest)));
          await conn.write(new TextEncoder().encode(
            `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`,
          ));
          while ((await conn.read(buffer)) !== null) { /* ignored */ }
        })().catch(() => {});
      }
    })().catch(() => {});
    try {
      const started = Date.now();
      const result = await runCli([
        "watch",
        "personas",
        "--timeout",
        "1s",
        "--url",
        `ws://127.0.0.1:${(mute.addr as Deno.NetAddr).port}/ws`,
      ]);
      assert.match(
        result.stderr,
        /^dorgu-ws: No reply from ws:\/\/127\.0\.0\.1:\d+\/ws to request personas within 1 s\.\n$/,
      );
      assert.equal(result.code, 1);
      // The reply's second, then at most the close's two.
      assert.ok(Date.now() - started < 8000, `${Date.now() - started} ms`);
    } finally {
      mute.close();
      held.forEach((conn) => conn.close());
    }
  },
});
Deno.test({
  name:
    "a server that breaks the protocol is one clear error, not a garbled line",
  ...unsanitized,
  async fn() {
    // A fake server: answers the subscribe, then sends an event whose
    // payload is not a PersonaEvent.
    const server = serveFake(({ requestId, type }) => {
      const timestamp = new Date().toISOString();
      return [{
        type: "response",
        topic: "personas",
        requestId,
        payload: type === "request" ? { personas: [] } : {
          status: "subscribed",
          topic: "personas",
          epoch: "e",
          offset: 0,
        },
        timestamp,
        epoch: "e",
        offset: 0,
      }, {
        type: "event",
        topic: "personas",
        payload: { eventType: "exploded", name: 7 },
        timestamp,
        offset: 1,
      }];
    });
    try {
      const result = await runCli(
        ["watch", "personas", "--url", server.url],
        { offContract: "a fake server's malformed event, on purpose" },
      );
      assert.equal(result.code, 1);
      assert.equal(result.stdout, "");
      assert.match(
        result.stderr.trim(),
        /^dorgu-ws: The server sent a message this client does not understand \(payload\.eventType: .*\); are client and server the same version\?$/,
      );
    } finally {
      await server.shutdown();
    }
  },
});
