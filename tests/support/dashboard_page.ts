/**
 * The dashboard page in Chromium, for the tests that drive it: open it
 * until it is live, read a table, and check it ran clean.
 *
 * @module
 */
import assert from "node:assert/strict";
import type { Browser, Page } from "./browser.ts";

/** Opens the dashboard and waits until it is live; CSP violations are kept. */
export async function openDashboard(
  browser: Browser,
  url: string,
): Promise<Page> {
  const page = await browser.open();
  await page.recordCspViolations();
  await page.goto(url);
  // Live, and every topic drawn.
  await page.waitFor(
    `document.querySelector("#connection").dataset.state === "live" &&
      performance.getEntriesByName("dorgu-ws:first-render").length > 0`,
  );
  return page;
}

/** Each row of a table body as its cells' text, joined by "|". */
export function rows(page: Page, selector: string): Promise<string[]> {
  return page.evaluate<string[]>(
    `[...document.querySelectorAll(${
      JSON.stringify(selector)
    })].map((tr) => [...tr.cells].map((c) => c.innerText.trim()).join("|"))`,
  );
}

/**
 * Fails on console errors (but those `allowed` matches) and on
 * Content-Security-Policy violations the page recorded.
 */
export async function assertClean(
  page: Page,
  allowed?: RegExp,
): Promise<void> {
  assert.deepEqual(
    page.errors.filter((error) => !allowed?.test(error)),
    [],
    "console errors",
  );
  assert.deepEqual(await page.cspViolations(), []);
}
