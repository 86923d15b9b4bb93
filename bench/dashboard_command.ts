/**
 * `dorgu-ws dashboard` from process start to the page's first render of
 * 1,000 ApplicationPersonas from a real kube-apiserver, in headless
 * Chromium (prints one `result {json}` line). Each round starts the
 * command as the binary runs (`main.ts` with its permissions, `--no-browser`),
 * reads the URL from its stdout, loads it in a fresh tab of a browser that
 * is already running (as a user's is), and stops it with SIGINT. The
 * render's time is the page's `dorgu-ws:first-render` mark (every topic
 * drawn) on the wall clock the process start was taken on.
 *
 *   deno run -A bench/dashboard_command.ts [personas] [rounds]
 *
 * @module
 */
import { Browser } from "../tests/support/browser.ts";
import { spawnDashboard } from "../tests/support/dashboard_cli.ts";
import { envWithPersonas } from "./personas_env.ts";

const personas = Number(Deno.args[0] ?? 1000);
const rounds = Number(Deno.args[1] ?? 5);

const median = (values: number[]) =>
  [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

const env = await envWithPersonas(personas);
const browser = await Browser.launch();
try {
  const toUrl: number[] = [];
  const toRender: number[] = [];
  for (let round = 0; round < rounds; round++) {
    const started = Date.now();
    const dashboard = await spawnDashboard([
      "--kubeconfig",
      env.kubeconfig,
      "--no-browser",
      "--log-level",
      "error",
    ]);
    toUrl.push(Date.now() - started);
    const page = await browser.open();
    try {
      await page.driver.setViewport({ width: 1440, height: 900 });
      await page.goto(dashboard.url);
      await page.driver.waitForFunction(
        `performance.getEntriesByName("dorgu-ws:first-render").length > 0`,
        { timeout: 60_000, polling: 10 },
      );
      const rendered = await page.evaluate<number>(
        `performance.timeOrigin +
          performance.getEntriesByName("dorgu-ws:first-render")[0].startTime`,
      );
      const shown = await page.evaluate<string>(
        `document.querySelector("#personas-summary").innerText`,
      );
      if (!shown.includes(personas.toLocaleString("en-US"))) {
        throw new Error(`The page shows "${shown}", not ${personas} personas.`);
      }
      toRender.push(rendered - started);
    } finally {
      await page.driver.close();
      await dashboard.process.stop("SIGINT");
    }
  }
  console.log(`result ${
    JSON.stringify({
      startToRenderMs: median(toRender),
      startToUrlMs: median(toUrl),
      toRender: toRender.map(Math.round),
      toUrl,
    })
  }`);
} finally {
  await browser.close();
  await env.stop();
}
