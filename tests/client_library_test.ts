/**
 * The client library's logic against a scripted server over an in-memory
 * channel: states a real server cannot be driven into on demand (an offset
 * jump, a restart between two messages, a close code of choice, a reply
 * that never comes, a message that breaks the contract).
 */
import assert from "node:assert/strict";
import {
  type Channel,
  channelPair,
  Client,
  Connection,
  ConnectionError,
  type Dialer,
  DorguError,
  eventsAsText,
  type FollowState,
  type Listed,
  MAX_WAITING_UPDATES,
  ProtocolError,
  readEvent,
  type Recovery,
  ServerError,
  type TopicEvent,
} from "../src/client/mod.ts";

interface Sent {
  type: string;
  topic: string;
  requestId: string;
  payload?: Record<string, unknown>;
}

const now = () => new Date().toISOString();

/** A scripted server: each connection's messages go to `script`. */
class FakeServer {
  epoch = "e1";
  offset = 0;
  connections: Channel[] = [];
  /** Connections the client has closed. */
  closed = 0;
  received: Sent[] = [];
  personas = [persona("a", "Active")];
  /** Answers a message; the default answers like dorgu-ws. */
  answer: (channel: Channel, message: Sent) => void = (c, m) =>
    this.reply(c, m);

  dial: Dialer = () => {
    const [client, server] = channelPair();
    this.connections.push(server);
    server.listen({
      message: (text) => {
        const message = JSON.parse(text) as Sent;
        this.received.push(message);
        this.answer(server, message);
      },
      close: () => this.closed++,
    });
    return Promise.resolve(client);
  };

  reply(channel: Channel, message: Sent): void {
    const base = {
      type: "response",
      topic: message.topic,
      requestId: message.requestId,
      timestamp: now(),
      epoch: this.epoch,
      offset: this.offset,
    };
    if (message.type === "request") {
      channel.send(
        JSON.stringify({ ...base, payload: { personas: this.personas } }),
      );
      return;
    }
    const since = message.payload?.since as
      | { epoch: string; offset: number }
      | undefined;
    const recovered = since?.epoch === this.epoch;
    channel.send(JSON.stringify({
      ...base,
      payload: {
        status: "subscribed",
        topic: message.topic,
        epoch: this.epoch,
        offset: this.offset,
        ...(since ? { recovered, ...(recovered ? { replayed: 0 } : {}) } : {}),
      },
    }));
  }

  /** Answers `message` with an `error` of `code`. */
  refuse(channel: Channel, message: Sent, code: string): void {
    channel.send(JSON.stringify({
      type: "error",
      topic: message.topic,
      requestId: message.requestId,
      payload: { code, message: `Refused: ${code}.` },
      timestamp: now(),
    }));
  }

  event(offset: number, name: string, phase: string): void {
    this.offset = Math.max(this.offset, offset);
    const text = JSON.stringify({
      type: "event",
      topic: "personas",
      payload: {
        eventType: "updated",
        namespace: "ns",
        name,
        phase,
        health: "Healthy",
      },
      timestamp: now(),
      offset,
    });
    this.live()?.send(text);
  }

  live(): Channel | undefined {
    return this.connections[this.connections.length - 1];
  }
}

function persona(name: string, phase: string) {
  return {
    namespace: "ns",
    name,
    appName: name,
    type: "api",
    tier: "standard",
    phase,
    health: "Healthy",
  };
}

function tick(ms = 5): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

async function until(what: string, check: () => boolean): Promise<void> {
  const deadline = Date.now() + 3000;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`Timed out: ${what}`);
    await tick();
  }
}

function record(server: FakeServer, options: { retryFirst?: boolean } = {}) {
  const client = new Client("ws://fake/ws", {
    dial: server.dial,
    timeoutMs: 300,
    backoff: { initialMs: 5, maxMs: 20 },
  });
  const seen: string[] = [];
  const states: FollowState[] = [];
  const recoveries: Recovery[] = [];
  const follower = client.follow([{ topic: "personas" }], {
    listed: (listed: Listed) =>
      seen.push(
        `listed ${listed.cause}${listed.missed ? ` ${listed.missed}` : ""}`,
      ),
    event: (message: TopicEvent) =>
      seen.push(
        `event ${message.offset} ${(message.payload as { name: string }).name}`,
      ),
    state: (state) => states.push(state),
    recovered: (recovery) => recoveries.push(recovery),
  }, { retryFirstConnect: options.retryFirst });
  const running = follower.run();
  // Waits until `expected` has been seen, checks it, and stops.
  const stopAfter = async (expected: string[]) => {
    await until(`${expected.at(-1)}`, () => seen.length === expected.length);
    assert.deepEqual(seen, expected);
    follower.stop();
    await running;
  };
  return { follower, running, seen, states, recoveries, stopAfter };
}

Deno.test("follow: lists, subscribes from the listing, skips doubles, and re-lists on an offset jump", async () => {
  const server = new FakeServer();
  server.offset = 3;
  const { seen, stopAfter } = record(server);
  await until("subscribed", () => server.received.length === 2);
  assert.deepEqual(server.received[1].payload, {
    since: { epoch: "e1", offset: 3 },
  });
  server.event(4, "a", "Failed");
  server.event(4, "a", "Failed"); // a double
  server.event(3, "a", "Failed"); // already covered by the listing
  server.event(5, "b", "Active");
  await until("two events", () => seen.length === 3);
  server.event(9, "c", "Active"); // 6, 7, 8 missed
  await stopAfter([
    "listed start",
    "event 4 a",
    "event 5 b",
    "listed gap 3",
  ]);
});

Deno.test("follow: a dropped connection resumes with since; a restarted server is re-listed", async () => {
  const server = new FakeServer();
  const { seen, recoveries, states, stopAfter } = record(server);
  await until("live", () => states.at(-1)?.state === "live");
  server.event(1, "a", "Failed");
  await until("the event", () => seen.length === 2);
  server.live()!.close(1001, "");
  await until("resumed", () => recoveries.length === 1);
  assert.deepEqual(server.received.at(-1)?.payload, {
    since: { epoch: "e1", offset: 1 },
  });
  assert.deepEqual(recoveries[0], {
    topics: [{ topic: "personas", how: "resumed", replayed: 0 }],
    restarted: false,
  });
  assert.ok(
    states.some((s) => s.state === "reconnecting" && s.after === "lost"),
  );

  server.epoch = "e2";
  server.offset = 0;
  server.live()!.close(1006, "");
  await until("re-listed", () => recoveries.length === 2);
  assert.equal(recoveries[1].restarted, true);
  assert.deepEqual(recoveries[1].topics[0], {
    topic: "personas",
    how: "re-listed",
    replayed: 0,
    cause: "restart",
  });
  // The new epoch's offsets start again: offset 1 is new, not a double.
  server.event(1, "b", "Active");
  await stopAfter([
    "listed start",
    "event 1 a",
    "listed restart",
    "event 1 b",
  ]);
  assert.equal(states.at(-1)?.state, "stopped");
});

Deno.test("follow: close codes that retrying cannot fix end it with the reason", async () => {
  for (
    const [code, pattern] of [[1009, /too big/], [
      1002,
      /protocol error/,
    ]] as const
  ) {
    const server = new FakeServer();
    const { running, states } = record(server);
    await until("live", () => states.at(-1)?.state === "live");
    server.live()!.close(code, "no");
    await assert.rejects(running, pattern);
    assert.equal(states.at(-1)?.state, "failed");
  }
});

Deno.test("follow: a refusal ends it; not_ready is waited out, even on the first connection; a server not reached ends the first one", async () => {
  const refused = new FakeServer();
  refused.answer = (channel, message) =>
    refused.refuse(channel, message, "forbidden");
  const first = record(refused, { retryFirst: true });
  await assert.rejects(
    first.running,
    (error) => error instanceof ServerError && error.code === "forbidden",
  );

  // The server is there but still listing: waited out, as a failed try.
  const starting = new FakeServer();
  let refusals = 2;
  starting.answer = (channel, message) => {
    if (refusals-- > 0) starting.refuse(channel, message, "not_ready");
    else starting.reply(channel, message);
  };
  const second = record(starting);
  await until("live", () => second.states.at(-1)?.state === "live");
  assert.equal(starting.connections.length, 3);
  assert.deepEqual(
    second.states.filter((s) => s.state === "reconnecting").map((s) =>
      s.state === "reconnecting" && [s.after, s.reason]
    ),
    [["failed", "Refused: not_ready."], ["failed", "Refused: not_ready."]],
  );
  second.follower.stop();
  await second.running;

  // Nothing answers: the first connection's failure is the answer, unless
  // retryFirstConnect.
  const client = new Client("ws://fake/ws", {
    dial: () => Promise.reject(new Error("connection refused")),
    backoff: { initialMs: 5, maxMs: 20 },
  });
  await assert.rejects(
    client.follow([{ topic: "personas" }], {}).run(),
    (error) =>
      error instanceof ConnectionError && error.kind === "refused" &&
      error.retry,
  );
});

Deno.test("a message that breaks the contract, or fails the frame check, is a ProtocolError", async () => {
  const server = new FakeServer();
  server.answer = (channel) =>
    channel.send(JSON.stringify({ type: "response", topic: "personas" }));
  const client = new Client("ws://fake/ws", {
    dial: server.dial,
    timeoutMs: 300,
  });
  await assert.rejects(
    client.request("personas"),
    (error) =>
      error instanceof ProtocolError && /timestamp/.test(error.message),
  );

  const checked = new FakeServer();
  const frames: string[] = [];
  const strict = new Client("ws://fake/ws", {
    dial: checked.dial,
    onFrame: (text) => {
      frames.push(text);
      if (frames.length > 0) throw new Error("not in the contract");
    },
  });
  await assert.rejects(strict.request("personas"), /not in the contract/);
  assert.equal(frames.length, 1);

  // A payload that does not fit its topic's answer.
  const wrong = new FakeServer();
  wrong.personas = [{ name: 7 } as never];
  await assert.rejects(
    new Client("ws://fake/ws", { dial: wrong.dial }).request("personas"),
    /payload\.personas\.0/,
  );
});

Deno.test("a reply that never comes is a timeout that closes the connection", async () => {
  const server = new FakeServer();
  server.answer = () => {};
  const client = new Client("ws://fake/ws", {
    dial: server.dial,
    timeoutMs: 100,
  });
  const connection = await client.open();
  await assert.rejects(
    connection.request("cluster"),
    /No reply from ws:\/\/fake\/ws to request cluster within 0.1 s/,
  );
  const closed = await connection.closed;
  assert.equal(closed.code, 1000);
});

Deno.test("each call has its own requestId and gets its own reply, once; a close rejects every call still waiting, with why", async () => {
  const server = new FakeServer();
  const held: Sent[] = [];
  server.answer = (_channel, message) => held.push(message);
  const client = new Client("ws://fake/ws", { dial: server.dial });
  const connection = await client.open();
  const cluster = connection.request("cluster");
  const personas = connection.request("personas");
  const subscribed = connection.subscribe("personas");
  await until("three calls", () => held.length === 3);
  assert.deepEqual(
    held.map((m) => m.requestId),
    ["dorgu-ws-1", "dorgu-ws-2", "dorgu-ws-3"],
  );
  // Answered out of order, and twice: each call takes its own, once.
  server.reply(server.live()!, held[1]);
  server.reply(server.live()!, held[1]);
  assert.equal((await personas).requestId, "dorgu-ws-2");
  server.live()!.close(1001, "");
  for (const call of [cluster, subscribed]) {
    await assert.rejects(
      call,
      (error) =>
        error instanceof ConnectionError && error.retry &&
        error.message ===
          "The connection to ws://fake/ws closed: the server is going away (1001).",
    );
  }
  const closed = await connection.closed;
  assert.deepEqual([closed.code, closed.retry], [1001, true]);
});

Deno.test("eventsAsText: events come as text, unchecked; replies still reach the connection, checked; readEvent checks one", async () => {
  const server = new FakeServer();
  const texts: string[] = [];
  const connection = await Connection.open(
    eventsAsText(server.dial, (text) => texts.push(text)),
    { url: "ws://fake/ws" },
  );
  const checked: TopicEvent[] = [];
  connection.onEvent = (event) => checked.push(event);
  assert.equal(
    (await connection.subscribe("personas")).payload.status,
    "subscribed",
  );
  server.event(1, "a", "Degraded");
  server.live()!.send('{"type":"event","topic":"personas","payload":{}}');
  await until("two events", () => texts.length === 2);
  assert.deepEqual(checked, []);
  const event = readEvent(texts[0]) as TopicEvent<"personas">;
  assert.deepEqual([event.offset, event.payload.name], [1, "a"]);
  assert.throws(() => readEvent(texts[1]), ProtocolError);
  assert.throws(
    () => readEvent(JSON.stringify({ type: "error", payload: {} })),
    ProtocolError,
  );
  connection.close();
  await connection.closed;
});

Deno.test("watch: an async iterator of listings and changes; break stops it", async () => {
  const server = new FakeServer();
  const client = new Client("ws://fake/ws", { dial: server.dial });
  const seen: string[] = [];
  for await (const update of client.watch("personas")) {
    if (update.kind === "listed") {
      seen.push(...update.items.map((p) => `${p.name} ${p.phase}`));
      server.event(1, "a", "Degraded");
    } else {
      seen.push(`${update.payload.name} ${update.payload.phase}`);
      break;
    }
  }
  assert.deepEqual(seen, ["a Active", "a Degraded"]);
  await until("closed", () => server.connections.length === 1);
});

Deno.test("watch: a reader that falls too far behind gets an error, not a client holding every update", async () => {
  const server = new FakeServer();
  const client = new Client("ws://fake/ws", { dial: server.dial });
  const updates = client.watch("personas");
  const first = await updates.next();
  assert.equal(first.value?.kind, "listed");
  // The reader takes nothing while the server sends past the bound.
  for (let i = 1; i <= MAX_WAITING_UPDATES + 5; i++) {
    server.event(i, "a", i % 2 ? "Degraded" : "Active");
  }
  await until("the watch stopped following", () => server.closed === 1);
  await assert.rejects(
    updates.next(),
    (error: Error) =>
      error instanceof DorguError &&
      /fell 10000 updates behind/.test(error.message),
  );
  // It stopped following: no reconnection.
  await new Promise((resolve) => setTimeout(resolve, 100));
  assert.equal(server.connections.length, 1);
});

Deno.test("a URL that is not a WebSocket URL is refused at once", () => {
  assert.throws(() => new Client("ftp://x/ws"), /ftp: is not ws: or wss:/);
  assert.throws(() => new Client("::"), /is not a WebSocket URL/);
});
