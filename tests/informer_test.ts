/**
 * The informer against a scripted fake API server, for what a real one
 * cannot be made to do on demand: a JSON line split across chunks, a
 * malformed line, an ERROR event, a stalled stream, a request never
 * answered, a reset mid-line, an expired continue token, refusals, exact
 * Retry-After values, the backoff starting over.
 */
import assert from "node:assert/strict";
import { Hub } from "../src/hub/mod.ts";
import { Informer, readWatchEvents } from "../src/kube/mod.ts";
import { plainKubeClient } from "./support/kube_client.ts";
import type { PersonaEvent } from "../src/protocol/mod.ts";
import { createState } from "../src/sources/mod.ts";
import { captureLog, delay } from "./support/server.ts";

type Script = (url: URL) => Response | Promise<Response>;

/** Streams `parts` (strings or pauses in ms), then closes, hangs or resets. */
function stream(
  parts: (string | number)[],
  end: "close" | "hang" | "reset" = "close",
): Response {
  const encoder = new TextEncoder();
  const body = new ReadableStream<Uint8Array>({
    async start(controller) {
      for (const part of parts) {
        if (typeof part === "number") await delay(part);
        else controller.enqueue(encoder.encode(part));
      }
      if (end === "close") controller.close();
      if (end === "reset") controller.error(new Error("reset"));
    },
  });
  return new Response(body, {
    headers: { "content-type": "application/json" },
  });
}

function persona(
  name: string,
  rv: number,
  phase = "Active",
  uid = `uid-${name}`,
) {
  return {
    apiVersion: "dorgu.io/v1",
    kind: "ApplicationPersona",
    metadata: { name, namespace: "prod", uid, resourceVersion: String(rv) },
    spec: { name, type: "api" },
    status: { phase, health: { status: "Healthy" } },
  };
}

function list(items: unknown[], rv: number, next?: string): Response {
  return Response.json({
    kind: "ApplicationPersonaList",
    metadata: { resourceVersion: String(rv), continue: next },
    items,
  });
}

function line(type: string, object: unknown): string {
  return JSON.stringify({ type, object }) + "\n";
}

function status(
  code: number,
  reason: string,
  message: string,
  headers: HeadersInit = {},
): Response {
  return Response.json({
    kind: "Status",
    status: "Failure",
    code,
    reason,
    message,
  }, {
    status: code,
    headers,
  });
}

class FakeApi {
  readonly lists: Script[] = [];
  readonly watches: Script[] = [];
  readonly seen: URL[] = [];
  /** When each request in `seen` arrived (performance.now()). */
  readonly times: number[] = [];
  readonly #server: Deno.HttpServer<Deno.NetAddr>;
  readonly #idle: AbortController = new AbortController();

  constructor() {
    this.#server = Deno.serve({
      hostname: "127.0.0.1",
      port: 0,
      onListen: () => {},
    }, (req) => {
      const url = new URL(req.url);
      this.seen.push(url);
      this.times.push(performance.now());
      const queue = url.searchParams.has("watch") ? this.watches : this.lists;
      const script = queue.shift();
      if (script) return script(url);
      if (url.searchParams.has("watch")) {
        // Nothing scripted: an idle watch that stays open.
        return new Response(
          new ReadableStream({
            start: (controller) =>
              this.#idle.signal.addEventListener(
                "abort",
                () => controller.close(),
              ),
          }),
        );
      }
      return status(500, "InternalError", "no script");
    });
  }

  get url(): string {
    return `http://127.0.0.1:${this.#server.addr.port}`;
  }

  watchVersions(): string[] {
    return this.seen.filter((u) => u.searchParams.has("watch")).map((u) =>
      u.searchParams.get("resourceVersion") ?? ""
    );
  }

  /** Milliseconds between one watch request and the next. */
  watchGaps(): number[] {
    const times = this.times.filter((_, i) =>
      this.seen[i].searchParams.has("watch")
    );
    return times.slice(1).map((at, i) => at - times[i]);
  }

  /** An answer that never comes (until the fake closes). */
  never(): Promise<Response> {
    return new Promise((resolve) =>
      this.#idle.signal.addEventListener(
        "abort",
        () => resolve(new Response(null, { status: 503 })),
      )
    );
  }

  async close(): Promise<void> {
    this.#idle.abort();
    await this.#server.shutdown();
  }
}

function harness(
  options: {
    stallMs?: number;
    backoffMs?: [number, number];
    healthyWatchMs?: number;
  } = {},
) {
  const api = new FakeApi();
  const hub = new Hub({ historySize: 100 });
  const log = captureLog();
  const { store } = createState(hub, {
    log: log.logger,
    resources: ["personas"],
  });
  const client = plainKubeClient(api.url);
  const informer = new Informer({
    client,
    path: "/apis/dorgu.io/v1/applicationpersonas",
    label: "applicationpersonas.dorgu.io/v1 in all namespaces",
    target: {
      resync: () => store.resync("personas"),
      upsert: (o) => store.upsert("personas", o),
      remove: (o) => store.remove("personas", o),
      problem: (m) => store.readiness.setProblem("personas", m),
    },
    log: log.logger,
    backoffMs: options.backoffMs ?? [10, 40],
    watchSeconds: [30, 31],
    stallMs: options.stallMs,
    healthyWatchMs: options.healthyWatchMs,
  });
  const events = () =>
    (hub.recent("personas", { limit: 100 }) as PersonaEvent[]).map((e) =>
      `${e.eventType} ${e.name} ${e.phase}`
    );
  const until = async (check: () => boolean, what: string) => {
    const deadline = Date.now() + 5000;
    while (!check()) {
      if (Date.now() > deadline) {
        throw new Error(
          `Timed out waiting for ${what}; events: ${events()}; seen: ${
            api.seen.join(" ")
          }`,
        );
      }
      await delay(10);
    }
  };
  const stop = async () => {
    await informer.stop();
    client.close();
    await api.close();
  };
  return { api, hub, store, log, informer, events, until, stop };
}

Deno.test("watch lines decode across any chunking, even inside a character", async () => {
  const text = line("ADDED", persona("caf\u00e9-\u{1f680}", 5)) +
    line("BOOKMARK", { metadata: { resourceVersion: "6" } });
  const bytes = new TextEncoder().encode(text);
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      for (const byte of bytes) controller.enqueue(new Uint8Array([byte]));
      controller.close();
    },
  });
  const events = [];
  for await (const event of readWatchEvents(body)) events.push(event);
  assert.deepEqual(events.map((e) => e.type), ["ADDED", "BOOKMARK"]);
  assert.equal(
    (events[0].object as { metadata: { name: string } }).metadata.name,
    "caf\u00e9-\u{1f680}",
  );
});

Deno.test("a stream that ends mid-line is an error, not a silent loss", async () => {
  const body = stream([
    line("ADDED", persona("a", 2)),
    '{"type":"MODIFIED","obj',
  ]).body!;
  const seen: string[] = [];
  await assert.rejects(async () => {
    for await (const event of readWatchEvents(body)) seen.push(event.type);
  }, /ended mid-line/);
  assert.deepEqual(seen, ["ADDED"]);
});

Deno.test("a watch line without end is an error once past the longest line read, not a string growing until memory runs out", async () => {
  const mib = new TextEncoder().encode("x".repeat(1024 * 1024));
  let sent = 0;
  const body = new ReadableStream<Uint8Array>({
    pull(controller) {
      sent++;
      controller.enqueue(
        sent === 1
          ? new TextEncoder().encode(line("ADDED", persona("a", 2)))
          : mib,
      );
    },
  });
  const seen: string[] = [];
  const started = performance.now();
  await assert.rejects(async () => {
    for await (const event of readWatchEvents(body)) seen.push(event.type);
  }, /^WatchDecodeError: A watch line is longer than 64 MiB: x{120}\.\.\.$/);
  assert.deepEqual(seen, ["ADDED"]);
  // Reading stops there (streams pull a few chunks ahead).
  assert.ok(sent < 80, `read ${sent} chunks`);
  assert.ok(performance.now() - started < 5000);
});

Deno.test("list, then watch from the list's version; a line split over chunks arrives whole", async () => {
  const h = harness();
  try {
    h.api.lists.push(() => list([persona("a", 5)], 10));
    const update = line("MODIFIED", persona("a", 11, "Degraded"));
    h.api.watches.push(() =>
      stream([
        update.slice(0, 7),
        20,
        update.slice(7, 50),
        20,
        update.slice(50),
      ], "hang")
    );
    h.informer.start();
    await h.until(() => h.events().length === 1, "the update");
    assert.deepEqual(h.events(), ["updated a Degraded"]);
    assert.deepEqual(h.api.watchVersions(), ["10"]);
    const watch = h.api.seen.find((u) => u.searchParams.has("watch"))!;
    assert.equal(watch.searchParams.get("allowWatchBookmarks"), "true");
    assert.ok(Number(watch.searchParams.get("timeoutSeconds")) >= 30);
    assert.equal(h.store.readiness.ready, true);
  } finally {
    await h.stop();
  }
});

Deno.test("a malformed line restarts the watch from the last good version and loses nothing", async () => {
  const h = harness();
  try {
    h.api.lists.push(() => list([], 10));
    h.api.watches.push(() =>
      stream([
        line("ADDED", persona("a", 11)),
        '{"type": "MODIFIED", garbage\n',
      ], "hang")
    );
    h.api.watches.push(() =>
      stream([line("MODIFIED", persona("a", 12, "Failed"))], "hang")
    );
    h.informer.start();
    await h.until(() => h.events().length === 2, "both events");
    assert.deepEqual(h.events(), ["created a Active", "updated a Failed"]);
    assert.deepEqual(h.api.watchVersions(), ["10", "11"]);
    assert.equal(h.informer.stats.decodeErrors, 1);
    assert.equal(h.informer.stats.relists, 0);
    const warning = h.log.lines.find((l) => l.level === "warn");
    assert.match(String(warning?.reason), /not JSON/);
  } finally {
    await h.stop();
  }
});

Deno.test("an ERROR event with 410 relists, and the relist emits exactly what changed", async () => {
  const h = harness();
  try {
    h.api.lists.push(() => list([persona("a", 5), persona("b", 6)], 10));
    h.api.watches.push(() =>
      stream([line("ERROR", {
        kind: "Status",
        code: 410,
        reason: "Expired",
        message: "too old resource version: 10 (50)",
      })], "hang")
    );
    h.api.lists.push(() =>
      list([persona("a", 40, "Degraded"), persona("c", 41)], 50)
    );
    h.informer.start();
    await h.until(() => h.events().length === 3, "the relist's events");
    assert.deepEqual(h.events(), [
      "updated a Degraded",
      "created c Active",
      "deleted b Active",
    ]);
    assert.equal(h.informer.stats.relists, 1);
    await h.until(() => h.api.watchVersions().length === 2, "the second watch");
    assert.deepEqual(h.api.watchVersions(), ["10", "50"]);
  } finally {
    await h.stop();
  }
});

Deno.test("HTTP 410 on the watch relists too", async () => {
  const h = harness();
  try {
    h.api.lists.push(() => list([persona("a", 5)], 10));
    h.api.watches.push(() =>
      status(410, "Expired", "too old resource version")
    );
    h.api.lists.push(() => list([persona("a", 5)], 60));
    h.informer.start();
    await h.until(
      () => h.api.watchVersions().length === 2,
      "the watch after the relist",
    );
    assert.deepEqual(h.api.watchVersions(), ["10", "60"]);
    assert.deepEqual(h.events(), []);
    assert.equal(h.informer.stats.relists, 1);
  } finally {
    await h.stop();
  }
});

Deno.test("a watch Gone at its own listing's version, again and again, relists after growing waits, not in a tight loop", async () => {
  const h = harness({ backoffMs: [50, 400] });
  try {
    // Every list answers at version 10; every watch from it is 410.
    const always = () => {
      h.api.lists.push(() => {
        always();
        return list([persona("a", 5)], 10);
      });
      h.api.watches.push(() =>
        status(410, "Expired", "too old resource version: 10 (20)")
      );
    };
    always();
    h.informer.start();
    await delay(2000);
    // Waits of 50, 100, 200, 400, 400... ms: a dozen requests, where a
    // relist at once made thousands.
    const requests = h.api.seen.length;
    assert.ok(requests >= 6 && requests <= 24, `${requests} requests`);
    assert.deepEqual(h.events(), []);
  } finally {
    await h.stop();
  }
});

Deno.test("a watch silent for the stall interval is watched again from the last version, without a warning", async () => {
  const h = harness({ stallMs: 300 });
  try {
    h.api.lists.push(() => list([], 10));
    h.api.watches.push(() => stream([line("ADDED", persona("a", 11))], "hang"));
    h.api.watches.push(() =>
      stream([line("MODIFIED", persona("a", 12, "Failed"))], "hang")
    );
    const started = Date.now();
    h.informer.start();
    await h.until(() => h.events().length === 2, "the event after the stall");
    assert.ok(Date.now() - started >= 300);
    assert.deepEqual(h.events(), ["created a Active", "updated a Failed"]);
    assert.deepEqual(h.api.watchVersions().slice(0, 2), ["10", "11"]);
    assert.ok(
      h.log.lines.some((l) =>
        l.level === "info" &&
        l.msg ===
          "The watch sent nothing for 0.3 s; watching again on a new connection"
      ),
    );
    // Quiet resources get no bookmarks; that is not a failure.
    assert.deepEqual(h.log.lines.filter((l) => l.level === "warn"), []);
    assert.deepEqual(Object.fromEntries(h.store.readiness.pending()), {});
  } finally {
    await h.stop();
  }
});

Deno.test("a list or watch the server never answers fails after the stall interval and is retried", async () => {
  const h = harness({ stallMs: 300 });
  try {
    h.api.lists.push(() => h.api.never());
    h.api.lists.push(() => list([persona("a", 5)], 10));
    h.api.watches.push(() => h.api.never());
    h.api.watches.push(() =>
      stream([line("MODIFIED", persona("a", 11, "Failed"))], "hang")
    );
    h.informer.start();
    await h.until(() => h.events().length === 1, "the event");
    assert.deepEqual(h.events(), ["updated a Failed"]);
    assert.deepEqual(h.api.watchVersions().slice(0, 2), ["10", "10"]);
    const reasons = h.log.lines.filter((l) => l.level === "warn").map((l) =>
      l.reason
    );
    assert.deepEqual(reasons, [
      "cannot reach the API server: no answer to a list within 0.3 s",
      "cannot reach the API server: no answer to a watch within 0.3 s",
    ]);
  } finally {
    await h.stop();
  }
});

Deno.test("a connection reset mid-line resumes from the last good version", async () => {
  const h = harness();
  try {
    h.api.lists.push(() => list([], 10));
    const cut = line("MODIFIED", persona("a", 12, "Failed"));
    h.api.watches.push(() =>
      stream([line("ADDED", persona("a", 11)), cut.slice(0, 30), 100], "reset")
    );
    h.api.watches.push(() => stream([cut], "hang"));
    h.informer.start();
    await h.until(() => h.events().length === 2, "the cut event, resent");
    assert.deepEqual(h.events(), ["created a Active", "updated a Failed"]);
    assert.deepEqual(h.api.watchVersions(), ["10", "11"]);
  } finally {
    await h.stop();
  }
});

Deno.test("pagination follows continue tokens; an expired token restarts the listing", async () => {
  const h = harness();
  try {
    h.api.lists.push(() => list([persona("a", 1)], 10, "page-2"));
    h.api.lists.push(() =>
      status(410, "Expired", "The provided continue parameter is too old")
    );
    h.api.lists.push(() => list([persona("a", 1)], 20, "page-2b"));
    h.api.lists.push((url) => {
      assert.equal(url.searchParams.get("continue"), "page-2b");
      return list([persona("b", 2)], 20);
    });
    h.informer.start();
    await h.until(() => h.store.readiness.ready, "the listing");
    assert.equal(h.store.stats().get("personas")?.objects, 2);
    assert.deepEqual(h.api.watchVersions(), ["20"]);
    const lists = h.api.seen.filter((u) => !u.searchParams.has("watch"));
    assert.ok(lists.every((u) => u.searchParams.get("limit") === "500"));
  } finally {
    await h.stop();
  }
});

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
