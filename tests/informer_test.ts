/**
 * The informer against a scripted fake API server, for what a real one
 * cannot be made to do on demand: a JSON line split across chunks, a
 * malformed line, an ERROR event, a stalled stream, a request never
 * answered, a reset mid-line, an expired continue token. The waits and
 * the backoff are in informer_backoff_test.ts.
 */
import assert from "node:assert/strict";
import { delay } from "./support/server.ts";
import {
  harness,
  line,
  list,
  persona,
  status,
  stream,
} from "./support/informer_harness.ts";

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
