/**
 * The informer's waits against a scripted fake API server: refusals are
 * reported and retried with backoff, a watch that ends at once does not
 * spin, the backoff starts over once the API server proved healthy, and
 * Retry-After replaces it within bounds.
 */
import assert from "node:assert/strict";
import { delay } from "./support/server.ts";
import {
  harness,
  line,
  list,
  persona,
  type Script,
  status,
  stream,
} from "./support/informer_harness.ts";

Deno.test("refusals are reported, retried with backoff, and clear once the list works", async () => {
  const h = harness();
  try {
    h.api.lists.push(() =>
      status(
        403,
        "Forbidden",
        'applicationpersonas.dorgu.io is forbidden: User "system:serviceaccount:x:y" cannot list resource "applicationpersonas"',
      )
    );
    h.api.lists.push(() =>
      status(
        404,
        "NotFound",
        "the server could not find the requested resource",
      )
    );
    // A proxy in front of the API answers in plain text.
    h.api.lists.push(() =>
      new Response("Unauthorized: token expired\n", { status: 401 })
    );
    h.api.lists.push(() => list([persona("a", 1)], 10));
    h.informer.start();
    await h.until(
      () => h.log.lines.filter((l) => l.level === "warn").length === 3,
      "three warnings",
    );
    const [forbidden, missing, unauthorized] = h.log.lines.filter((l) =>
      l.level === "warn"
    );
    assert.equal(
      forbidden.msg,
      "Cannot read applicationpersonas.dorgu.io/v1 in all namespaces; retrying",
    );
    assert.match(
      String(forbidden.reason),
      /^permission denied: .*cannot list resource "applicationpersonas".*Grant get, list and watch/,
    );
    assert.match(
      String(missing.reason),
      /does not serve applicationpersonas.* \(is its CRD installed\?\)/,
    );
    assert.equal(
      unauthorized.reason,
      "the API server rejected the credentials: Unauthorized: token expired",
    );
    await h.until(() => h.store.readiness.ready, "the list");
    assert.ok(
      h.log.lines.some((l) =>
        l.msg ===
          "Reading applicationpersonas.dorgu.io/v1 in all namespaces again"
      ),
    );
    assert.deepEqual(Object.fromEntries(h.store.readiness.pending()), {});
  } finally {
    await h.stop();
  }
});

Deno.test("a watch that keeps ending at once backs off instead of spinning", async () => {
  const h = harness();
  try {
    h.api.lists.push(() => list([], 10));
    for (let i = 0; i < 50; i++) h.api.watches.push(() => stream([]));
    h.informer.start();
    await delay(600);
    // Backoff 10, 20, 40, 40... ms: a dozen watches, not hundreds.
    const watches = h.api.watchVersions().length;
    assert.ok(watches >= 3 && watches <= 25, `${watches} watches in 600 ms`);
    assert.ok(h.api.watchVersions().every((v) => v === "10"));
  } finally {
    await h.stop();
  }
});

Deno.test("the backoff starts over once a watch delivered a bookmark", async () => {
  // Delays before jitter: 200, 400, 800, then the 1 s cap of a young outage.
  const h = harness({ backoffMs: [200, 30_000] });
  try {
    h.api.lists.push(() => list([], 10));
    for (let i = 0; i < 4; i++) {
      h.api.watches.push(() => status(500, "InternalError", "etcd is slow"));
    }
    h.api.watches.push(() =>
      stream(
        [line("BOOKMARK", { metadata: { resourceVersion: "12" } }), 50],
        "reset",
      )
    );
    h.api.watches.push(() =>
      stream([line("MODIFIED", persona("a", 13, "Failed"))], "hang")
    );
    h.informer.start();
    await h.until(() => h.api.watchVersions().length === 6, "six watches");
    const gaps = h.api.watchGaps();
    // The fourth failure waited 0.5-1 s; after the bookmark, 0.1-0.2 s.
    assert.ok(gaps[3] >= 500, `before the bookmark: ${gaps}`);
    assert.ok(gaps[4] < 450, `after the bookmark: ${gaps}`);
    assert.deepEqual(h.api.watchVersions(), [
      "10",
      "10",
      "10",
      "10",
      "10",
      "12",
    ]);
  } finally {
    await h.stop();
  }
});

// Four failures: delays before jitter of 200, 400, 800, then the young
// outage's cap of 1 s; the next one waits 0.5-1 s unless the backoff was
// reset, 0.1-0.2 s if it was.
function failFourTimes(api: { watches: Script[] }): void {
  for (let i = 0; i < 4; i++) {
    api.watches.push(() => status(500, "InternalError", "etcd is slow"));
  }
}

Deno.test("the backoff starts over after a watch held open for the healthy interval without an event", async () => {
  const h = harness({ backoffMs: [200, 30_000], healthyWatchMs: 300 });
  try {
    h.api.lists.push(() => list([], 10));
    failFourTimes(h.api);
    // Open, silent for longer than the healthy interval, then cut.
    h.api.watches.push(() => stream([500], "reset"));
    h.api.watches.push(() => status(500, "InternalError", "etcd is slow"));
    h.api.watches.push(() => stream([line("ADDED", persona("a", 11))], "hang"));
    h.informer.start();
    await h.until(() => h.events().length === 1, "the event");
    const gaps = h.api.watchGaps();
    assert.ok(gaps[3] >= 500, `before the silent watch: ${gaps}`);
    // The silent watch lasted 0.5 s, then its failure waited 0.1-0.2 s.
    assert.ok(gaps[4] < 500 + 450, `after the silent watch: ${gaps}`);
    assert.ok(gaps[5] < 450, `after the failure that followed: ${gaps}`);
  } finally {
    await h.stop();
  }
});

Deno.test("the backoff starts over after a watch the API server ends normally", async () => {
  const h = harness({ backoffMs: [200, 30_000] });
  try {
    h.api.lists.push(() => list([], 10));
    failFourTimes(h.api);
    // Nothing in it, ended by the server after a while: its timeout.
    h.api.watches.push(() => stream([1100], "close"));
    h.api.watches.push(() => status(500, "InternalError", "etcd is slow"));
    h.api.watches.push(() => stream([line("ADDED", persona("a", 11))], "hang"));
    h.informer.start();
    await h.until(() => h.events().length === 1, "the event");
    const gaps = h.api.watchGaps();
    assert.ok(gaps[3] >= 500, `before the watch ended: ${gaps}`);
    assert.ok(gaps[5] < 450, `after the failure that followed: ${gaps}`);
  } finally {
    await h.stop();
  }
});

Deno.test("Retry-After on 429 and 503 replaces the backoff, bounded by it (at least 1 s); other statuses ignore it", async () => {
  const h = harness({ backoffMs: [200, 30_000] });
  try {
    h.api.lists.push(() => list([], 10));
    for (let i = 0; i < 3; i++) {
      h.api.watches.push(() => status(500, "InternalError", "etcd is slow"));
    }
    h.api.watches.push(() =>
      status(429, "TooManyRequests", "storage is (re)initializing", {
        "retry-after": "0",
      })
    );
    h.api.watches.push(() =>
      status(503, "ServiceUnavailable", "not all routes installed", {
        "retry-after": "5",
      })
    );
    h.api.watches.push(() =>
      status(500, "InternalError", "etcd is slow", { "retry-after": "0" })
    );
    h.api.watches.push(() => stream([line("ADDED", persona("a", 11))], "hang"));
    h.informer.start();
    await h.until(() => h.events().length === 1, "the event");
    const gaps = h.api.watchGaps();
    // The backoff was at 0.5-1 s: the 429 asked for less and got it; the
    // 503 asked for 5 s and got the bound, 1 s plus at most a quarter; the
    // 500's header was ignored.
    assert.ok(gaps[3] < 400, `after the 429: ${gaps}`);
    assert.ok(gaps[4] >= 1000 && gaps[4] < 1700, `after the 503: ${gaps}`);
    assert.ok(gaps[5] >= 500, `after the 500: ${gaps}`);
    const reasons = h.log.lines.filter((l) => l.level === "warn").map((l) =>
      l.reason
    );
    assert.deepEqual(reasons, [
      "cannot reach the API server: etcd is slow",
      "the API server asked to retry later: storage is (re)initializing",
      "the API server asked to retry later: not all routes installed",
      "cannot reach the API server: etcd is slow",
    ]);
    assert.deepEqual(h.events(), ["created a Active"]);
  } finally {
    await h.stop();
  }
});
