/**
 * The hub with fake sessions: numbering, filters and scopes, resume from
 * the ring buffer, per-client queue limits, and the inbound checks in
 * front of it.
 */
import assert from "node:assert/strict";
import {
  type ClientSocket,
  Hub,
  RingBuffer,
  Session,
  type StoredEvent,
} from "../src/hub/mod.ts";
import { createLogger } from "../src/log.ts";
import type { PersonaEvent } from "../src/protocol/mod.ts";
import { Inbound } from "../src/server/inbound.ts";
import { TokenBucket } from "../src/server/rate_limiter.ts";
import { NamespaceScope } from "../src/server/scope.ts";
import type { Queries } from "../src/sources/mod.ts";
import type { Offer, Priority } from "../src/transport/mod.ts";
import { checkServerFrame } from "./support/contract.ts";

/** A socket that keeps what it is sent, with a queue of `room` frames. */
class FakeSocket implements ClientSocket {
  frames: Uint8Array[] = [];
  priorities: Priority[] = [];
  room = Infinity;

  send(frame: Uint8Array, priority: Priority): Offer {
    if (priority !== "replay" && this.frames.length >= this.room) {
      return priority === "event" ? "dropped" : "refused";
    }
    this.frames.push(frame);
    this.priorities.push(priority);
    return "queued";
  }

  /**
   * The frames as JSON messages (unmasked server frames), each checked
   * against the published contract.
   */
  get sent(): Record<string, unknown>[] {
    return this.frames.map((frame) => {
      const header = frame[1] < 126 ? 2 : frame[1] === 126 ? 4 : 10;
      const text = new TextDecoder().decode(frame.subarray(header));
      checkServerFrame(text);
      return JSON.parse(text);
    });
  }
}

function newHub(historySize: number, epoch?: string): Hub {
  return new Hub({ historySize, epoch });
}

function personaEvent(name: string, namespace = "prod"): PersonaEvent {
  return {
    eventType: "updated",
    namespace,
    name,
    phase: "Active",
    health: "Healthy",
  };
}

function session(
  hub: Hub,
  options: { scope?: NamespaceScope; room?: number } = {},
) {
  const socket = new FakeSocket();
  socket.room = options.room ?? Infinity;
  const s = new Session(socket, { scope: options.scope ?? NamespaceScope.ALL });
  hub.attach(s);
  return { socket, session: s };
}

Deno.test("ring buffer keeps the newest items in order", () => {
  const ring = new RingBuffer<number>(3);
  assert.equal(ring.push(1), undefined);
  ring.push(2);
  ring.push(3);
  assert.equal(ring.push(4), 1);
  assert.deepEqual([ring.at(0), ring.at(1), ring.at(2)], [2, 3, 4]);
  assert.equal(ring.at(3), undefined);
  assert.equal(ring.size, 3);
  assert.throws(() => new RingBuffer(0), RangeError);
});

Deno.test("publish numbers events per topic and hands the same frame to every subscriber", () => {
  const hub = newHub(8);
  const a = session(hub);
  const b = session(hub);
  hub.subscribe(a.session, "personas", { filter: {} });
  hub.subscribe(b.session, "personas", { filter: {} });
  hub.subscribe(a.session, "deployments", { filter: {} });
  const first = hub.publish("personas", personaEvent("one"), {
    namespace: "prod",
    name: "one",
  });
  hub.publish("personas", personaEvent("two"), {
    namespace: "prod",
    name: "two",
  });
  hub.publish("deployments", {
    eventType: "created",
    namespace: "prod",
    name: "d",
    replicas: 1,
    readyReplicas: 1,
    updatedReplicas: 1,
    availableReplicas: 1,
    images: [],
    rollout: "complete",
  }, { namespace: "prod", name: "d" });
  assert.equal(first.offset, 1);
  assert.deepEqual(a.socket.sent.map((m) => [m.topic, m.offset]), [
    ["personas", 1],
    ["personas", 2],
    ["deployments", 1],
  ]);
  assert.equal(a.socket.frames[0], b.socket.frames[0], "one frame, shared");
  assert.equal(a.socket.frames[0], first.wire);
  const message = a.socket.sent[0];
  assert.equal(message.type, "event");
  assert.match(
    message.timestamp as string,
    /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/,
  );
  assert.deepEqual(message.payload, personaEvent("one"));
  assert.deepEqual(hub.position("personas"), { epoch: hub.epoch, offset: 2 });
});

Deno.test("filters match namespace, name, or a name's alias", () => {
  const hub = newHub(16);
  const byNamespace = session(hub);
  const byName = session(hub);
  const byAlias = session(hub);
  hub.subscribe(byNamespace.session, "events", {
    filter: { namespace: "staging" },
  });
  hub.subscribe(byName.session, "events", { filter: { name: "web" } });
  hub.subscribe(byAlias.session, "events", { filter: { name: "web-pod" } });
  const publish = (namespace: string, name: string, alias?: string) =>
    hub.publish("events", {
      kind: "validation",
      namespace,
      name,
      passed: true,
      issueCount: 0,
      severity: "none",
      issues: [],
    }, { namespace, name, alias });
  publish("prod", "web");
  publish("staging", "api");
  publish("prod", "web.1", "web-pod");
  const offsets = (s: FakeSocket) => s.sent.map((m) => m.offset);
  assert.deepEqual(offsets(byNamespace.socket), [2]);
  assert.deepEqual(offsets(byName.socket), [1]);
  assert.deepEqual(offsets(byAlias.socket), [3]);
});

Deno.test("a client's scope hides namespaces it may not see, but not cluster-scoped objects", () => {
  const hub = newHub(8);
  const limited = session(hub, {
    scope: new NamespaceScope(new Set(["staging"])),
  });
  hub.subscribe(limited.session, "personas", { filter: {} });
  hub.subscribe(limited.session, "cluster", { filter: {} });
  hub.publish("personas", personaEvent("a", "prod"), {
    namespace: "prod",
    name: "a",
  });
  hub.publish("personas", personaEvent("b", "staging"), {
    namespace: "staging",
    name: "b",
  });
  hub.publish("cluster", {
    eventType: "updated",
    name: "c",
    phase: "Ready",
    nodeCount: 1,
    applicationCount: 0,
  }, { name: "c" });
  assert.deepEqual(limited.socket.sent.map((m) => [m.topic, m.offset]), [
    ["personas", 2],
    ["cluster", 1],
  ]);
  assert.deepEqual(
    hub.recent("personas", { limit: 10, scope: limited.session.scope }).map((
      p,
    ) => (p as PersonaEvent).name),
    ["b"],
  );
});

Deno.test("resubscribing replaces the filter; unsubscribe and detach are idempotent", () => {
  const hub = newHub(8);
  const c = session(hub);
  hub.subscribe(c.session, "personas", { filter: { namespace: "prod" } });
  hub.subscribe(c.session, "personas", { filter: { namespace: "staging" } });
  assert.equal(hub.stats().get("personas")?.subscribers, 1);
  hub.publish("personas", personaEvent("a", "prod"), {
    namespace: "prod",
    name: "a",
  });
  assert.equal(c.socket.frames.length, 0);
  hub.unsubscribe(c.session, "personas");
  hub.unsubscribe(c.session, "personas");
  assert.equal(hub.stats().get("personas")?.subscribers, 0);
  hub.subscribe(c.session, "events", { filter: {} });
  hub.detach(c.session);
  hub.detach(c.session);
  assert.equal(hub.stats().get("events")?.subscribers, 0);
  assert.equal(hub.sessions, 0);
});

Deno.test("resume replays exactly the missed events, or says it cannot", () => {
  const hub = newHub(4, "E");
  const c = session(hub);
  for (let i = 1; i <= 6; i++) {
    hub.publish("personas", personaEvent(`p${i}`), {
      namespace: "prod",
      name: `p${i}`,
    });
  }
  // Held: offsets 3..6, so a client that saw 2 can still resume.
  const resume = (offset: number, epoch = "E") =>
    hub.subscribe(c.session, "personas", {
      filter: {},
      since: { epoch, offset },
    });
  const fromTwo = resume(2);
  assert.deepEqual(fromTwo.payload, {
    status: "subscribed",
    topic: "personas",
    epoch: "E",
    offset: 6,
    recovered: true,
    replayed: 4,
  });
  assert.deepEqual(fromTwo.replay.map((e) => e.offset), [3, 4, 5, 6]);
  assert.deepEqual(resume(5).replay.map((e) => e.offset), [6]);
  const current = resume(6);
  assert.equal(current.payload.recovered, true);
  assert.equal(current.payload.replayed, 0);
  for (const [offset, epoch] of [[1, "E"], [7, "E"], [5, "other"]] as const) {
    const failed = resume(offset, epoch);
    assert.equal(failed.payload.recovered, false, `${offset}@${epoch}`);
    assert.equal(failed.payload.replayed, undefined);
    assert.deepEqual(failed.replay, []);
  }
});

Deno.test("resume replays only what the new filter lets through", () => {
  const hub = newHub(8, "E");
  const c = session(hub);
  hub.publish("personas", personaEvent("a", "prod"), {
    namespace: "prod",
    name: "a",
  });
  hub.publish("personas", personaEvent("b", "staging"), {
    namespace: "staging",
    name: "b",
  });
  const outcome = hub.subscribe(c.session, "personas", {
    filter: { namespace: "staging" },
    since: { epoch: "E", offset: 0 },
  });
  assert.deepEqual(outcome.replay.map((e) => e.offset), [2]);
  assert.equal(outcome.payload.replayed, 1);
});

Deno.test("an empty topic resumes from offset 0", () => {
  const hub = newHub(4, "E");
  const c = session(hub);
  const outcome = hub.subscribe(c.session, "cluster", {
    filter: {},
    since: { epoch: "E", offset: 0 },
  });
  assert.equal(outcome.payload.recovered, true);
  assert.equal(outcome.payload.replayed, 0);
});

Deno.test("a full queue drops events for that client only, counted per client and topic", () => {
  const hub = newHub(64);
  const slow = session(hub, { room: 3 });
  const fast = session(hub);
  hub.subscribe(slow.session, "personas", { filter: {} });
  hub.subscribe(fast.session, "personas", { filter: {} });
  for (let i = 1; i <= 5; i++) {
    hub.publish("personas", personaEvent(`p${i}`), {
      namespace: "prod",
      name: `p${i}`,
    });
  }
  assert.equal(slow.socket.frames.length, 3);
  assert.equal(fast.socket.frames.length, 5);
  assert.equal(slow.session.dropped, 2);
  assert.equal(fast.session.dropped, 0);
  const stats = hub.stats().get("personas");
  assert.equal(stats?.sent, 8);
  assert.equal(stats?.dropped, 2);
});

Deno.test("replayed events are queued even when the queue is full", () => {
  const hub = newHub(8, "E");
  const c = session(hub, { room: 1 });
  for (let i = 1; i <= 4; i++) {
    hub.publish("personas", personaEvent(`p${i}`), {
      namespace: "prod",
      name: `p${i}`,
    });
  }
  const outcome = hub.subscribe(c.session, "personas", {
    filter: {},
    since: { epoch: "E", offset: 0 },
  });
  for (const event of outcome.replay) c.session.replay(event as StoredEvent);
  assert.deepEqual(c.socket.sent.map((m) => m.offset), [1, 2, 3, 4]);
  assert.deepEqual(c.socket.priorities, [
    "replay",
    "replay",
    "replay",
    "replay",
  ]);
});

Deno.test("recent events: newest first cut by limit, returned oldest first, by namespace", () => {
  const hub = newHub(4);
  for (let i = 1; i <= 6; i++) {
    const namespace = i % 2 ? "prod" : "staging";
    hub.publish("personas", personaEvent(`p${i}`, namespace), {
      namespace,
      name: `p${i}`,
    });
  }
  const names = (events: unknown[]) =>
    events.map((e) => (e as PersonaEvent).name);
  assert.deepEqual(
    names(hub.recent("personas", { limit: 10, scope: NamespaceScope.ALL })),
    [
      "p3",
      "p4",
      "p5",
      "p6",
    ],
  );
  assert.deepEqual(
    names(hub.recent("personas", { limit: 2, scope: NamespaceScope.ALL })),
    [
      "p5",
      "p6",
    ],
  );
  assert.deepEqual(
    names(
      hub.recent("personas", {
        limit: 10,
        namespace: "prod",
        scope: NamespaceScope.ALL,
      }),
    ),
    ["p3", "p5"],
  );
});

Deno.test("the token bucket allows a burst, then the average rate", () => {
  const bucket = new TokenBucket({ rate: 10, burst: 3 }, 0);
  assert.deepEqual([0, 0, 0, 0].map(() => bucket.take(0)), [
    true,
    true,
    true,
    false,
  ]);
  assert.equal(bucket.take(50), false, "half a token after 50 ms");
  assert.equal(bucket.take(100), true, "one token after 100 ms");
  assert.deepEqual([1000, 1000, 1000, 1000].map((t) => bucket.take(t)), [
    true,
    true,
    true,
    false,
  ]);
});

const NO_QUERIES = {
  notReady: () => undefined,
  personas: () => [],
  deployments: () => [],
  clusterPersona: () => ({ ok: false, reason: "none" }),
} as unknown as Queries;

function client(hub: Hub, burst = 100) {
  const c = session(hub);
  return {
    ...c,
    client: {
      session: c.session,
      scope: NamespaceScope.ALL,
      bucket: new TokenBucket({ rate: 1, burst }, performance.now()),
    },
  };
}

Deno.test("a failure inside a query is an internal error for that request only", () => {
  const hub = newHub(8);
  const logged: string[] = [];
  const inbound = new Inbound(hub, {
    queries: {
      ...NO_QUERIES,
      personas: () => {
        throw new TypeError("boom");
      },
    } as unknown as Queries,
    log: createLogger({ write: (line) => logged.push(line) }),
  });
  const c = client(hub);
  inbound.text(
    c.client,
    JSON.stringify({ type: "request", topic: "personas", requestId: "r1" }),
  );
  inbound.text(
    c.client,
    JSON.stringify({ type: "subscribe", topic: "personas", requestId: "r2" }),
  );
  const [failed, subscribed] = c.socket.sent as {
    type: string;
    requestId: string;
    topic: string;
    payload: { code: string };
  }[];
  assert.equal(failed.type, "error");
  assert.equal(failed.requestId, "r1");
  assert.equal(failed.topic, "personas");
  assert.equal(failed.payload.code, "internal");
  assert.equal(subscribed.type, "response");
  assert.equal(logged.length, 1);
  assert.match(logged[0], /"level":"error".*"error":"boom"/);
  assert.equal(inbound.stats.errors.get("internal"), 1);
});

Deno.test("binary messages are invalid_message, and count against the rate limit", () => {
  const hub = newHub(8);
  const inbound = new Inbound(hub, { queries: NO_QUERIES });
  const c = client(hub, 3);
  for (let i = 0; i < 4; i++) inbound.binary(c.client);
  assert.deepEqual(
    c.socket.sent.map((m) => (m.payload as { code: string }).code),
    ["invalid_message", "invalid_message", "invalid_message", "rate_limited"],
  );
  assert.equal(inbound.stats.rateLimited, 1);
});

Deno.test("a forbidden namespace is refused before the hub or the queries see it", () => {
  const hub = newHub(8);
  const inbound = new Inbound(hub, { queries: NO_QUERIES });
  const c = client(hub);
  const limited = {
    ...c.client,
    scope: new NamespaceScope(new Set(["staging"])),
  };
  inbound.text(
    limited,
    JSON.stringify({
      type: "subscribe",
      topic: "personas",
      requestId: "s",
      payload: { namespace: "prod" },
    }),
  );
  inbound.text(
    limited,
    JSON.stringify({
      type: "request",
      topic: "deployments",
      requestId: "r",
      payload: { namespace: "prod" },
    }),
  );
  assert.deepEqual(
    c.socket.sent.map((
      m,
    ) => [m.requestId, (m.payload as { code: string }).code]),
    [["s", "forbidden"], ["r", "forbidden"]],
  );
  assert.equal(hub.stats().get("personas")?.subscribers, 0);
});
