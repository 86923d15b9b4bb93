/**
 * The dashboard in headless Chromium (prints one `result {json}` line):
 *
 * - the demo's first render: navigation start to every topic drawn
 *   (the page's `dorgu-ws:first-render` mark), median of `rounds` loads;
 * - a cluster of 5,000 personas in 50 namespaces (1,000 Deployments, 50
 *   nodes): the first render, then 100 events/s for 10 s (Kubernetes
 *   Events recurring, and personas changing phase), then typing a filter,
 *   sorting and paging; the longest task of each phase (Long Tasks API:
 *   every task over 50 ms is reported) and how many events arrived.
 *
 * The servers run as the binary runs (`main.ts serve --source DIR`).
 *
 *   deno run -A bench/dashboard.ts [rounds]
 *
 * @module
 */
import { Client } from "../src/client/mod.ts";
import { Browser, type Page } from "../tests/support/browser.ts";
import { copyExamples, delay, spawnServer } from "../tests/support/server.ts";

const rounds = Number(Deno.args[0] ?? 5);
const NAMESPACES = 50;
const PER_NAMESPACE = 100;
const DEPLOYMENTS_PER_NAMESPACE = 20;
const EVENT_OBJECTS = 200;

const HEALTHS = ["Healthy", "Healthy", "Healthy", "Degraded", "Unhealthy"];
const PHASES = ["Active", "Active", "Active", "Degraded", "Failed", "Pending"];

function persona(ns: number, i: number, flip = 0) {
  return {
    apiVersion: "dorgu.io/v1",
    kind: "ApplicationPersona",
    metadata: {
      name: `app-${i}`,
      namespace: `team-${ns}`,
      uid: `p-${ns}-${i}`,
    },
    spec: {
      name: `app-${i}`,
      type: "api",
      tier: i % 3 ? "standard" : "critical",
    },
    status: {
      phase: PHASES[(i + flip) % PHASES.length],
      health: { status: HEALTHS[(i + flip) % HEALTHS.length] },
      validation: {
        passed: i % 4 !== 0,
        issues: i % 4 === 0
          ? [{ severity: "error", message: "replicas below minimum" }]
          : [],
      },
    },
  };
}

function deployment(ns: number, i: number) {
  return {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: {
      name: `app-${i}`,
      namespace: `team-${ns}`,
      uid: `d-${ns}-${i}`,
    },
    spec: {
      replicas: 3,
      template: {
        spec: {
          containers: [{
            name: "app",
            image: `ghcr.io/acme/app-${i}:1.${ns}.0`,
          }],
        },
      },
    },
    status: {
      replicas: 3,
      readyReplicas: 3 - (i % 3),
      updatedReplicas: 3,
      availableReplicas: 3 - (i % 3),
    },
  };
}

function kubeEvent(i: number, count: number) {
  return {
    apiVersion: "v1",
    kind: "Event",
    metadata: {
      name: `app-${i}.e${i}`,
      namespace: `team-${i % NAMESPACES}`,
      uid: `e-${i}`,
    },
    involvedObject: {
      kind: "Pod",
      namespace: `team-${i % NAMESPACES}`,
      name: `app-${i}-7d9f8b6c4-x2kqp`,
    },
    type: i % 2 ? "Warning" : "Normal",
    reason: i % 2 ? "BackOff" : "Pulled",
    message: `Event ${i} happened`,
    count,
    // Changes only when the count does: one event per recurrence.
    lastTimestamp: new Date(Date.UTC(2026, 2, 23, 9) + count * 1000)
      .toISOString(),
  };
}

const list = (items: unknown[]) =>
  JSON.stringify({ apiVersion: "v1", kind: "List", items });

async function bigCluster(): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "dorgu-ws-bench-dashboard-" });
  for (let ns = 0; ns < NAMESPACES; ns++) {
    await Deno.writeTextFile(
      `${dir}/team-${ns}.json`,
      list([
        ...Array.from({ length: PER_NAMESPACE }, (_, i) => persona(ns, i)),
        ...Array.from(
          { length: DEPLOYMENTS_PER_NAMESPACE },
          (_, i) => deployment(ns, i),
        ),
      ]),
    );
  }
  await Deno.writeTextFile(
    `${dir}/cluster.json`,
    JSON.stringify({
      apiVersion: "dorgu.io/v1",
      kind: "ClusterPersona",
      metadata: {
        name: "big",
        uid: "c-1",
        creationTimestamp: "2026-01-01T00:00:00Z",
      },
      spec: { name: "big", environment: "production" },
      status: {
        phase: "Ready",
        kubernetesVersion: "v1.31.0",
        platform: "EKS",
        applicationCount: NAMESPACES * PER_NAMESPACE,
        nodes: Array.from({ length: 50 }, (_, i) => ({ name: `node-${i}` })),
        addons: [{ name: "argocd", installed: true }],
      },
    }),
  );
  await writeEvents(dir, 1);
  return dir;
}

function writeEvents(dir: string, round: number): Promise<void> {
  return Deno.writeTextFile(
    `${dir}/events.json`,
    list(Array.from({ length: EVENT_OBJECTS }, (_, i) => kubeEvent(i, round))),
  );
}

const OBSERVE = `
  window.longTasks = [];
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) window.longTasks.push([e.startTime, e.duration]);
  }).observe({ type: "longtask", buffered: true });
`;

async function open(browser: Browser, url: string): Promise<Page> {
  const page = await browser.open();
  await page.driver.setViewport({ width: 1440, height: 900 });
  await page.driver.evaluateOnNewDocument(OBSERVE);
  await page.goto(url);
  await page.driver.waitForFunction(
    `performance.getEntriesByName("dorgu-ws:first-render").length > 0`,
    { timeout: 60_000, polling: 10 },
  );
  return page;
}

/** The longest task (ms) after page time `since`, and how many over 50 ms. */
async function longTasks(page: Page, since: number) {
  const tasks = await page.evaluate<[number, number][]>("window.longTasks");
  const after = tasks.filter(([start]) => start >= since).map(([, d]) => d);
  return { max: Math.max(0, ...after), count: after.length };
}

const median = (values: number[]) =>
  [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

const browser = await Browser.launch();
try {
  // The demo.
  const demoDir = await copyExamples();
  const demo = await spawnServer(["--source", demoDir]);
  const firstRenders: number[] = [];
  try {
    for (let round = 0; round < rounds; round++) {
      const page = await open(browser, `http://127.0.0.1:${demo.port}/`);
      firstRenders.push(
        await page.evaluate<number>(
          `performance.getEntriesByName("dorgu-ws:first-render")[0].startTime`,
        ),
      );
      await page.driver.close();
    }
  } finally {
    await demo.stop();
  }

  // 5,000 personas.
  const dir = await bigCluster();
  const big = await spawnServer(["--source", dir]);
  try {
    const page = await open(browser, `http://127.0.0.1:${big.port}/`);
    const bigFirstRender = await page.evaluate<number>(
      `performance.getEntriesByName("dorgu-ws:first-render")[0].startTime`,
    );
    const load = await longTasks(page, 0);
    const shownRows = await page.evaluate<number>(
      `document.querySelectorAll("#persona-table tr.persona").length`,
    );

    // 100 events/s for 10 s: every 100 ms, 10 Events recur (a higher
    // count) and 1 persona changes phase; the directory source picks them
    // up on its next poll.
    const counter = await new Client(`ws://127.0.0.1:${big.port}/ws`).open();
    let received = 0;
    counter.onEvent = () => received++;
    await counter.subscribe("events");
    await counter.subscribe("personas");
    await delay(300);
    received = 0;
    const streamFrom = await page.evaluate<number>("performance.now()");
    const started = performance.now();
    const counts = new Array(EVENT_OBJECTS).fill(1);
    for (let tick = 0; tick < 100; tick++) {
      for (let k = 0; k < 10; k++) counts[(tick * 10 + k) % EVENT_OBJECTS]++;
      await Deno.writeTextFile(
        `${dir}/events.json`,
        list(counts.map((count, i) => kubeEvent(i, count))),
      );
      const ns = tick % NAMESPACES;
      await Deno.writeTextFile(
        `${dir}/team-${ns}.json`,
        list([
          ...Array.from(
            { length: PER_NAMESPACE },
            (_, i) => persona(ns, i, i === tick % PER_NAMESPACE ? tick + 1 : 0),
          ),
          ...Array.from(
            { length: DEPLOYMENTS_PER_NAMESPACE },
            (_, i) => deployment(ns, i),
          ),
        ]),
      );
      const next = started + (tick + 1) * 100;
      await delay(Math.max(0, next - performance.now()));
    }
    await delay(1000);
    const seconds = (performance.now() - started) / 1000;
    const stream = await longTasks(page, streamFrom);
    counter.close();

    // Typing a filter, sorting, clearing, paging: each step's longest task.
    const steps: Record<string, number> = {};
    const step = async (name: string, act: () => Promise<void>) => {
      const from = await page.evaluate<number>("performance.now()");
      await act();
      await delay(600);
      steps[name] = (await longTasks(page, from)).max;
    };
    await step(
      "type",
      () => page.driver.type('input[name="q"]', "app-1", { delay: 50 }),
    );
    await step("sort", () => page.driver.click('th[data-sort="name"] button'));
    await step(
      "clear",
      () => page.driver.click("form.filters button[type=reset]"),
    );
    await step("more", () => page.driver.click("#personas-more"));
    await step(
      "health",
      () =>
        page.driver.click(
          '#health button[title="Show only Unhealthy personas"]',
        ),
    );
    const interact = { max: Math.max(...Object.values(steps)) };
    const errors = page.errors.length;
    console.log(`result ${
      JSON.stringify({
        demoFirstRenderMs: median(firstRenders),
        demoFirstRenders: firstRenders.map(Math.round),
        bigFirstRenderMs: bigFirstRender,
        bigShownRows: shownRows,
        bigLoadLongestTaskMs: load.max,
        bigLoadLongTasks: load.count,
        streamEventsPerSecond: received / seconds,
        streamLongestTaskMs: stream.max,
        streamLongTasks: stream.count,
        interactLongestTaskMs: interact.max,
        interactSteps: steps,
        pageErrors: errors,
      })
    }`);
  } finally {
    await big.stop();
    await Deno.remove(dir, { recursive: true });
  }
} finally {
  await browser.close();
}
