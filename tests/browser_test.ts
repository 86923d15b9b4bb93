/**
 * A real browser (headless Chromium) against the server: the origin rule
 * and the subprotocol token as browsers use them.
 */
import assert from "node:assert/strict";
import { Browser } from "./support/browser.ts";
import { copyExamples, spawnServer } from "./support/server.ts";

const unsanitized = { sanitizeOps: false, sanitizeResources: false };

/** A web server whose only page is blank: a stand-in for an ops console. */
function webOrigin(): { url: string; stop: () => Promise<void> } {
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    () =>
      new Response("<!doctype html><title>ops</title>", {
        headers: { "content-type": "text/html" },
      }),
  );
  return {
    url: `http://127.0.0.1:${server.addr.port}/`,
    stop: () => server.shutdown(),
  };
}

/** In the page: connect, ask for the cluster, report what happened. */
function connect(url: string, protocols: string[] = []): string {
  return `new Promise((resolve) => {
    const ws = new WebSocket(${JSON.stringify(url)}, ${
    JSON.stringify(protocols)
  });
    ws.onopen = () => ws.send(JSON.stringify({ type: "request", topic: "cluster", requestId: "b1" }));
    ws.onmessage = (e) => { resolve({ open: true, protocol: ws.protocol, reply: JSON.parse(e.data) }); ws.close(); };
    ws.onerror = () => resolve({ open: false });
  })`;
}

Deno.test({
  name:
    "a browser page from an allowed origin connects; from another origin it is refused",
  ...unsanitized,
  async fn() {
    const allowed = webOrigin();
    const other = webOrigin();
    const tokens = await Deno.makeTempFile();
    await Deno.writeTextFile(tokens, "browser-secret,ops\n");
    const dir = await copyExamples();
    const server = await spawnServer([
      "--source",
      dir,
      "--allowed-origins",
      allowed.url.replace(/\/$/, ""),
      "--auth",
      "token",
      "--token-file",
      tokens,
    ]);
    const browser = await Browser.launch();
    try {
      const ws = `ws://127.0.0.1:${server.port}/ws`;
      const token = btoa("browser-secret").replaceAll("=", "");
      const page = await browser.open(allowed.url);
      const result = await page.evaluate<{
        open: boolean;
        protocol: string;
        reply: { requestId: string; payload: { name: string } };
      }>(connect(ws, ["dorgu-ws", `bearer.${token}`]));
      assert.equal(result.open, true);
      assert.equal(result.protocol, "dorgu-ws");
      assert.equal(result.reply.requestId, "b1");
      assert.equal(result.reply.payload.name, "eu-west-prod");
      assert.deepEqual(page.errors, []);
      // Without the token the same page is refused, and the browser says why.
      assert.deepEqual(await page.evaluate(connect(ws, ["dorgu-ws"])), {
        open: false,
      });
      await page.goto(other.url);
      assert.deepEqual(
        await page.evaluate(connect(ws, ["dorgu-ws", `bearer.${token}`])),
        { open: false },
      );
      // Chromium words a 401 and a 403 answer to the upgrade this way.
      assert.equal(page.errors.length, 2, page.errors.join("\n"));
      assert.match(page.errors[0], /HTTP Authentication failed/);
      assert.match(page.errors[1], /Unexpected response code: 403/);
      const png = await page.screenshot();
      assert.deepEqual([...png.subarray(1, 4)], [0x50, 0x4e, 0x47]); // "PNG"
      const metrics =
        await (await fetch(`http://127.0.0.1:${server.port}/metrics`)).text();
      assert.match(
        metrics,
        /^dorgu_ws_connections_rejected_total\{reason="origin"\} 1$/m,
      );
      assert.match(
        metrics,
        /^dorgu_ws_connections_rejected_total\{reason="unauthorized"\} 1$/m,
      );
    } finally {
      await browser.close();
      await server.stop();
      await allowed.stop();
      await other.stop();
    }
  },
});
