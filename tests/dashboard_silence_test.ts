/**
 * The dashboard against a server gone silent without a close: a real
 * `serve --source` behind a TCP proxy that freezes the page's connection
 * (a laptop that slept, a NAT that forgot it). The browser answers the
 * server's pings out of the page's sight, so only the page's own question
 * notices; it must leave the connection, reconnect, and show the change
 * made while it was cut off. The page's clock is moved on past its 30 s of
 * quiet instead of waiting them out.
 */
import assert from "node:assert/strict";
import { Browser } from "./support/browser.ts";
import { TcpProxy } from "./support/proc.ts";
import { editFile, spawnExample } from "./support/server.ts";

const unsanitized = { sanitizeOps: false, sanitizeResources: false };

Deno.test({
  name:
    "the dashboard notices a server gone silent, reconnects, and shows what changed meanwhile",
  ...unsanitized,
  async fn() {
    await using example = await spawnExample();
    const proxy = new TcpProxy(example.server.port);
    proxy.start();
    const browser = await Browser.launch();
    try {
      const page = await browser.open();
      // Date.now as the page reads it, moved on by window.skipMs.
      await page.driver.evaluateOnNewDocument(`
        window.skipMs = 0;
        const now = Date.now;
        Date.now = () => now() + window.skipMs;
        window.states = [];
      `);
      await page.goto(`http://127.0.0.1:${proxy.port}/`);
      const state = `document.querySelector("#connection").dataset.state`;
      await page.waitFor(`${state} === "live"`);
      await page.evaluate(`new MutationObserver(() =>
        window.states.push(${state})).observe(
          document.querySelector("#connection"), { attributes: true })`);
      proxy.freeze();
      await editFile(`${example.dir}/production/personas.yaml`, {
        from: "phase: Failed",
        to: "phase: Degraded",
      });
      await page.evaluate("window.skipMs = 31_000");
      // The question goes unanswered for the reply deadline (10 s).
      await page.waitFor(
        `window.states.includes("reconnecting") && ${state} === "live"`,
        30_000,
      );
      await page.waitFor(
        `[...document.querySelectorAll("#persona-table tbody tr.persona")]
          .some((row) => row.innerText.includes("invoice-worker") &&
            row.innerText.includes("Degraded"))`,
        20_000,
      );
      assert.deepEqual(
        page.errors.filter((e) => !/ERR_|WebSocket/.test(e)),
        [],
      );
    } finally {
      await browser.close();
      proxy.stop();
    }
  },
});
