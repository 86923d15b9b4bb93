import assert from "node:assert/strict";
import { createLogger } from "../src/log.ts";
import {
  type ClientSocket,
  Dispatcher,
  Hub,
  RingBuffer,
  Session,
  type SessionOptions,
  type SessionPolicy,
  utf8Length,
} from "../src/hub/mod.ts";
import type { PersonaEvent } from "../src/protocol/mod.ts";

/** A socket whose unwritten byte count the test controls. */
class FakeSocket implements ClientSocket {
  sent: string[] = [];
  bufferedAmount = 0;
  closedWith: [number | undefined, string | undefined] | undefined;
  /** When true, every send stays unwritten. */
  stalled = false;

  send(data: string): void {
    this.sent.push(data);
    if (this.stalled) this.bufferedAmount += utf8Length(data);
  }

  close(code?: number, reason?: string): void {
    this.closedWith = [code, reason];
  }
}

// A clock the tests move by hand: "later" is past the write grace.
let now = 0;
const clock = () => now;
const LATER = 200;

const OPTIONS: SessionPolicy = {
  sendBuffer: 4,
  rateLimit: 10,
  rateBurst: 3,
  clock,
};

function newHub(historySize: number, epoch?: string): Hub {
  now = 0;
  return new Hub({ historySize, epoch, clock });
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
  options: Partial<SessionPolicy> & SessionOptions = {},
) {
  const socket = new FakeSocket();
  const s = new Session(socket, { ...OPTIONS, ...options }, options);
  hub.attach(s);
  return { socket, session: s };
}

Deno.test("ring buffer keeps the newest items in order", () => {
  const ring = new RingBuffer<number>(3);
  assert.equal(ring.push(1), undefined);
  ring.push(2);
  ring.push(3);
  assert.equal(ring.push(4), 1);
  assert.deepEqual([...ring], [2, 3, 4]);
  assert.equal(ring.at(0), 2);
  assert.equal(ring.newest(), 4);
  assert.equal(ring.at(3), undefined);
  assert.throws(() => new RingBuffer(0), /positive integer/);
});

Deno.test("publish numbers events per topic and hands one frame to every subscriber", () => {
  const hub = newHub(8, "e1");
  const a = session(hub);
  const b = session(hub);
  hub.subscribe(a.session, "personas", { filter: {} });
  hub.subscribe(b.session, "personas", { filter: {} });
  hub.publish("personas", personaEvent("x"), { namespace: "prod", name: "x" });
  hub.publish("personas", personaEvent("y"), { namespace: "prod", name: "y" });
  hub.publish("cluster", {
    eventType: "updated",
    name: "c",
    phase: "Ready",
    nodeCount: 1,
    applicationCount: 0,
  }, { name: "c" });
  assert.deepEqual(a.socket.sent, b.socket.sent);
  const frames = a.socket.sent.map((f) => JSON.parse(f));
  assert.deepEqual(frames.map((f) => [f.topic, f.offset]), [
    ["personas", 1],
    ["personas", 2],
  ]);
  assert.equal(frames[0].type, "event");
  assert.deepEqual(frames[0].payload, personaEvent("x"));
  assert.match(frames[0].timestamp, /Z$/);
  assert.equal(hub.stats().get("personas")?.sent, 4);
  assert.equal(hub.stats().get("cluster")?.offset, 1);
});

Deno.test("filters match namespace, name, or a name's alias", () => {
  const hub = newHub(8);
  const byNamespace = session(hub);
  const byName = session(hub);
  const byAlias = session(hub);
  hub.subscribe(byNamespace.session, "events", {
    filter: { namespace: "staging" },
  });
  hub.subscribe(byName.session, "events", { filter: { name: "ev-1" } });
  hub.subscribe(byAlias.session, "events", { filter: { name: "pod-a" } });
  const publish = (namespace: string, name: string, alias: string) =>
    hub.publish("events", {
      kind: "kubernetes",
      namespace,
      name,
      type: "Warning",
      reason: "r",
      message: "m",
      involvedObject: { kind: "Pod", namespace, name: alias },
      count: 1,
      lastTimestamp: "",
    }, { namespace, name, alias });
  publish("staging", "ev-1", "pod-a");
  publish("prod", "ev-1", "pod-b");
  publish("prod", "ev-2", "pod-a");
  const offsets = (s: FakeSocket) => s.sent.map((f) => JSON.parse(f).offset);
  assert.deepEqual(offsets(byNamespace.socket), [1]);
  assert.deepEqual(offsets(byName.socket), [1, 2]);
  assert.deepEqual(offsets(byAlias.socket), [1, 3]);
});

Deno.test("a client's scope hides namespaces it may not see", () => {
  const hub = newHub(8);
  const scoped = session(hub, { scope: new Set(["staging"]) });
  hub.subscribe(scoped.session, "personas", { filter: {} });
  hub.publish("personas", personaEvent("a", "prod"), {
    namespace: "prod",
    name: "a",
  });
  hub.publish("personas", personaEvent("b", "staging"), {
    namespace: "staging",
    name: "b",
  });
  assert.deepEqual(scoped.socket.sent.map((f) => JSON.parse(f).payload.name), [
    "b",
  ]);
  assert.deepEqual(
    hub.recent("personas", { limit: 10, scope: scoped.session.scope }).map((
      p,
    ) => (p as PersonaEvent).name),
    ["b"],
  );
});

Deno.test("resubscribing replaces the filter; unsubscribe is idempotent", () => {
  const hub = newHub(8);
  const c = session(hub);
  hub.subscribe(c.session, "personas", { filter: { name: "a" } });
  hub.subscribe(c.session, "personas", { filter: { name: "b" } });
  assert.equal(hub.stats().get("personas")?.subscribers, 1);
  hub.publish("personas", personaEvent("a"), { namespace: "prod", name: "a" });
  hub.publish("personas", personaEvent("b"), { namespace: "prod", name: "b" });
  assert.deepEqual(c.socket.sent.map((f) => JSON.parse(f).payload.name), ["b"]);
  hub.unsubscribe(c.session, "personas");
  hub.unsubscribe(c.session, "personas");
  hub.publish("personas", personaEvent("b"), { namespace: "prod", name: "b" });
  assert.equal(c.socket.sent.length, 1);
  assert.equal(hub.stats().get("personas")?.subscribers, 0);
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

Deno.test("a full send buffer drops events for that client only and counts them", () => {
  const hub = newHub(64);
  const slow = session(hub);
  const fast = session(hub);
  slow.socket.stalled = true;
  hub.subscribe(slow.session, "personas", { filter: {} });
  hub.subscribe(fast.session, "personas", { filter: {} });
  const publish = (i: number) =>
    hub.publish("personas", personaEvent(`p${i}`), {
      namespace: "prod",
      name: `p${i}`,
    });
  for (let i = 0; i < 4; i++) publish(i);
  now += LATER;
  for (let i = 4; i < 10; i++) publish(i);
  assert.equal(fast.socket.sent.length, 10);
  assert.equal(slow.socket.sent.length, 4);
  assert.equal(slow.session.dropped, 6);
  assert.equal(hub.stats().get("personas")?.dropped, 6);
  assert.equal(hub.stats().get("personas")?.sent, 14);
  // Once the client drains, events flow again.
  slow.socket.bufferedAmount = 0;
  publish(10);
  assert.equal(slow.socket.sent.length, 5);
});

Deno.test("a burst is not held against a client until it had time to read it", () => {
  const hub = newHub(64);
  const c = session(hub);
  c.socket.stalled = true;
  hub.subscribe(c.session, "personas", { filter: {} });
  // One synchronous burst: nothing could have been written yet, so it is
  // all accepted, up to the hard limit of eight buffers' worth.
  for (let i = 0; i < 40; i++) {
    hub.publish("personas", personaEvent(`p${i}`), {
      namespace: "prod",
      name: `p${i}`,
    });
  }
  assert.equal(c.socket.sent.length, 32);
  assert.equal(c.session.dropped, 8);
});

Deno.test("a partly written window counts only the unwritten messages", () => {
  const hub = newHub(64);
  const c = session(hub);
  c.socket.stalled = true;
  hub.subscribe(c.session, "personas", { filter: {} });
  for (let i = 0; i < 4; i++) {
    hub.publish("personas", personaEvent(`p${i}`), {
      namespace: "prod",
      name: `p${i}`,
    });
  }
  assert.equal(c.session.unread, 4);
  // The first two frames and half of the third were written.
  const sizes = c.socket.sent.map(utf8Length);
  c.socket.bufferedAmount -= sizes[0] + sizes[1] + Math.floor(sizes[2] / 2);
  assert.equal(c.session.unread, 2);
  hub.publish("personas", personaEvent("next"), {
    namespace: "prod",
    name: "next",
  });
  assert.equal(c.socket.sent.length, 5);
  assert.equal(c.session.dropped, 0);
});

Deno.test("replies are never dropped: a full buffer closes the client with 1008", () => {
  const hub = newHub(8);
  const closes: string[] = [];
  const c = session(hub, { onClose: (_s, cause) => closes.push(cause) });
  c.socket.stalled = true;
  // Pipelined requests answered in one burst are fine...
  for (let i = 0; i < 6; i++) c.session.reply({ type: "response", n: i });
  assert.equal(c.socket.sent.length, 6);
  assert.equal(c.session.closed, false);
  // ...but replies left unread past the grace are not.
  now += LATER;
  c.session.reply({ type: "response", n: 7 });
  assert.equal(c.socket.sent.length, 6);
  assert.deepEqual(c.socket.closedWith?.[0], 1008);
  assert.deepEqual(closes, ["send_buffer_full"]);
  assert.ok(c.session.closed);
});

Deno.test("replayed events do not use up the send buffer", () => {
  const hub = newHub(64, "E");
  const c = session(hub);
  for (let i = 0; i < 20; i++) {
    hub.publish("personas", personaEvent(`p${i}`), {
      namespace: "prod",
      name: `p${i}`,
    });
  }
  c.socket.stalled = true;
  const outcome = hub.subscribe(c.session, "personas", {
    filter: {},
    since: { epoch: "E", offset: 0 },
  });
  for (const event of outcome.replay) {
    c.session.replay(event);
  }
  assert.equal(c.socket.sent.length, 20);
  now += LATER;
  // The live buffer is still free for four events.
  for (let i = 0; i < 4; i++) {
    hub.publish("personas", personaEvent(`q${i}`), {
      namespace: "prod",
      name: `q${i}`,
    });
  }
  now += LATER;
  hub.publish("personas", personaEvent("r"), { namespace: "prod", name: "r" });
  assert.equal(c.socket.sent.length, 24);
  assert.equal(c.session.dropped, 1);
});

Deno.test("a client that stops reading is closed after the write timeout", () => {
  const hub = newHub(8);
  const causes: string[] = [];
  const stuck = session(hub, {
    onClose: (s, cause) => {
      causes.push(cause);
      hub.detach(s);
    },
  });
  const draining = session(hub);
  stuck.socket.stalled = true;
  draining.socket.stalled = true;
  hub.subscribe(stuck.session, "personas", { filter: {} });
  hub.subscribe(draining.session, "personas", { filter: {} });
  hub.publish("personas", personaEvent("a"), { namespace: "prod", name: "a" });
  assert.equal(hub.sweep(0, 1000), 0);
  draining.socket.bufferedAmount -= 10;
  assert.equal(hub.sweep(600, 1000), 0);
  draining.socket.bufferedAmount -= 10;
  assert.equal(hub.sweep(1200, 1000), 1);
  assert.deepEqual(causes, ["write_timeout"]);
  assert.equal(stuck.socket.closedWith?.[0], 1008);
  assert.equal(draining.socket.closedWith, undefined);
  assert.equal(hub.sessions.size, 1);
  assert.equal(hub.stats().get("personas")?.subscribers, 1);
});

Deno.test("an idle client is never timed out", () => {
  const hub = newHub(8);
  const idle = session(hub);
  assert.equal(hub.sweep(1_000_000, 1000), 0);
  assert.equal(idle.session.closed, false);
});

Deno.test("closeAll closes every client with 1001", () => {
  const hub = newHub(8);
  const a = session(hub);
  const b = session(hub);
  hub.closeAll("bye");
  assert.deepEqual(a.socket.closedWith, [1001, "bye"]);
  assert.deepEqual(b.socket.closedWith, [1001, "bye"]);
  assert.equal(hub.sessions.size, 0);
});

Deno.test("the rate limit allows a burst, then the average rate", () => {
  const hub = newHub(8);
  const { session: s } = session(hub);
  const start = performance.now();
  assert.deepEqual([1, 2, 3, 4].map(() => s.takeToken(start)), [
    true,
    true,
    true,
    false,
  ]);
  assert.equal(s.takeToken(start + 50), false);
  assert.equal(s.takeToken(start + 110), true);
});

Deno.test("utf8Length agrees with TextEncoder", () => {
  const samples = [
    "",
    "ascii",
    "caf\u00e9",
    "\u20ac100",
    "\u{1f680} rocket",
    "mixed \u00e9\u20ac\u{1f680}\u0000",
  ];
  const random = Array.from({ length: 200 }, () =>
    String.fromCodePoint(
      ...Array.from({ length: 20 }, () => Math.floor(Math.random() * 0x10ffff)),
    ));
  const encoder = new TextEncoder();
  for (const text of [...samples, ...random]) {
    const wellFormed = text.toWellFormed();
    assert.equal(
      utf8Length(wellFormed),
      encoder.encode(wellFormed).length,
      wellFormed,
    );
  }
});

Deno.test("a failure inside a query is an internal error for that request only", () => {
  const hub = newHub(8);
  const logged: string[] = [];
  const dispatcher = new Dispatcher(hub, {
    notReady: () => undefined,
    personas: () => {
      throw new TypeError("boom");
    },
    deployments: () => [],
    clusterPersona: () => ({ ok: false, reason: "none" }),
  }, {
    maxMessageBytes: 1024,
    log: createLogger({ write: (line) => logged.push(line) }),
  });
  const c = session(hub);
  dispatcher.receive(
    c.session,
    JSON.stringify({ type: "request", topic: "personas", requestId: "r1" }),
  );
  dispatcher.receive(
    c.session,
    JSON.stringify({ type: "subscribe", topic: "personas", requestId: "r2" }),
  );
  const [failed, subscribed] = c.socket.sent.map((f) => JSON.parse(f));
  assert.equal(failed.type, "error");
  assert.equal(failed.requestId, "r1");
  assert.equal(failed.topic, "personas");
  assert.equal(failed.payload.code, "internal");
  assert.equal(subscribed.type, "response");
  assert.equal(logged.length, 1);
  assert.match(logged[0], /"level":"error".*"error":"boom"/);
  assert.equal(dispatcher.stats.errors.get("internal"), 1);
});

Deno.test("binary frames: too big closes 1009, others are invalid_message, all rate limited", () => {
  const hub = newHub(8);
  const dispatcher = new Dispatcher(hub, {
    notReady: () => undefined,
    personas: () => [],
    deployments: () => [],
    clusterPersona: () => ({ ok: false, reason: "none" }),
  }, { maxMessageBytes: 1024 });
  const small = session(hub);
  for (let i = 0; i < 4; i++) {
    dispatcher.receive(small.session, new ArrayBuffer(8));
  }
  assert.deepEqual(
    small.socket.sent.map((f) => JSON.parse(f).payload.code),
    ["invalid_message", "invalid_message", "invalid_message", "rate_limited"],
  );
  const big = session(hub);
  dispatcher.receive(big.session, new ArrayBuffer(2048));
  assert.deepEqual(big.socket.closedWith?.[0], 1009);
  assert.equal(big.socket.sent.length, 0);
});
