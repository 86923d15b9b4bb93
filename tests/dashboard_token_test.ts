/**
 * The dashboard's token flow in Chromium against `serve --auth token`: it
 * asks for a token once, says when one is refused, and keeps it for the
 * tab.
 */
import assert from "node:assert/strict";
import { Browser } from "./support/browser.ts";
import { spawnGuardedExample } from "./support/server.ts";

const unsanitized = { sanitizeOps: false, sanitizeResources: false };

Deno.test({
  name:
    "with --auth token the dashboard asks for a token once, says when it is refused, and keeps it for the tab",
  ...unsanitized,
  async fn() {
    await using example = await spawnGuardedExample("s3cret-token");
    const base = `http://127.0.0.1:${example.server.port}/`;
    const browser = await Browser.launch();
    try {
      const page = await browser.open();
      await page.goto(base);
      await page.waitFor(`!document.querySelector("#token-panel").hidden`);
      assert.equal(
        await page.text("#token-message"),
        "This server asks for a token.",
      );
      assert.equal(await page.text("#connection"), "Waiting for a token");
      // The input has the focus: type and press Enter.
      await page.driver.keyboard.type("wrong-token");
      await page.driver.keyboard.press("Enter");
      await page.waitFor(
        `document.querySelector("#token-message").innerText.includes("refused")`,
      );
      assert.equal(
        await page.text("#token-message"),
        "The server refused the token: The token is not valid.",
      );
      await page.driver.keyboard.type("s3cret-token");
      await page.driver.keyboard.press("Enter");
      await page.waitFor(
        `document.querySelector("#connection").dataset.state === "live"`,
      );
      await page.waitFor(
        `document.querySelectorAll("#persona-table tr.persona").length === 6`,
      );
      assert.equal(await page.text("#signed-in"), "Signed in as ops");
      assert.equal(
        await page.evaluate(`sessionStorage.getItem("dorgu-ws.token")`),
        "s3cret-token",
      );
      // Kept for the tab: a reload connects without asking.
      await page.goto(base);
      await page.waitFor(
        `document.querySelector("#connection").dataset.state === "live"`,
      );
      assert.equal(
        await page.evaluate(`document.querySelector("#token-panel").hidden`),
        true,
      );
      // Forgetting it asks again.
      await page.driver.click("#forget-token");
      await page.waitFor(`!document.querySelector("#token-panel").hidden`);
      assert.equal(
        await page.evaluate(`sessionStorage.getItem("dorgu-ws.token")`),
        null,
      );
      // The page never opened a WebSocket the server refused.
      assert.deepEqual(page.errors, []);
    } finally {
      await browser.close();
    }
  },
});
