/**
 * The dashboard's follower (the page's list-then-follow over /ws), run in
 * Deno against a real server through a proxy that can cut the line:
 * a short cut resumes and replays exactly what was missed; a cut longer
 * than the server's history re-lists, and says which it was.
 */
import assert from "node:assert/strict";
import {
  type AuthAnswer,
  type ConnectionState,
  followTopics,
  type Recovery,
} from "../src/dashboard/follow.ts";
import * as model from "../src/dashboard/model.ts";
import {
  copyExamples,
  delay,
  editFile,
  startTestServer,
} from "./support/server.ts";
import { TestClient } from "./support/ws_client.ts";

/** A TCP proxy to `port` whose connections can be cut at will. */
function cuttingProxy(port: number) {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const open = new Set<Deno.Conn>();
  let refusing = false;
  (async () => {
    for await (const conn of listener) {
      if (refusing) {
        conn.close();
        continue;
      }
      const upstream = await Deno.connect({ hostname: "127.0.0.1", port });
      open.add(conn);
      open.add(upstream);
      const end = () => {
        for (const c of [conn, upstream]) {
          open.delete(c);
          try {
            c.close();
          } catch {
            // Closed by the other direction.
          }
        }
      };
      conn.readable.pipeTo(upstream.writable).catch(() => {}).finally(end);
      upstream.readable.pipeTo(conn.writable).catch(() => {}).finally(end);
    }
  })().catch(() => {});
  return {
    port: (listener.addr as Deno.NetAddr).port,
    /** Drops every connection and refuses new ones until {@link heal}. */
    cut() {
      refusing = true;
      for (const conn of open) {
        try {
          conn.close();
        } catch {
          // Already closed.
        }
      }
      open.clear();
    },
    heal() {
      refusing = false;
    },
    close() {
      this.cut();
      listener.close();
    },
  };
}

/** Runs a follower on `port` (through the proxy) and records what it says. */
function follow(httpPort: number, proxyPort: number) {
  const states: ConnectionState[] = [];
  const recoveries: Recovery[] = [];
  const follower = followTopics({
    url: `ws://127.0.0.1:${proxyPort}/ws`,
    checkAuth: async (): Promise<AuthAnswer> => {
      try {
        const response = await fetch(`http://127.0.0.1:${httpPort}/ui/auth`);
        return await response.json();
      } catch (error) {
        return { unreachable: (error as Error).message };
      }
    },
    askToken: () => new Promise(() => {}),
    token: { get: () => undefined, set: () => {} },
    onState: (state) => states.push(state),
    onRecovery: (recovery) => recoveries.push(recovery),
    onChange: () => {},
  });
  const running = follower.run();
  return { model, states, recoveries, follower, running };
}

async function until(what: string, check: () => boolean, timeoutMs = 10_000) {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting: ${what}.`);
    await delay(20);
  }
}

const live = (states: ConnectionState[]) =>
  states[states.length - 1]?.state === "live";

type Personas = { namespace: string; name: string; [field: string]: unknown }[];

/**
 * Waits until the server itself (asked directly, not through the proxy)
 * lists personas that pass `check`: what was edited while the page was
 * away is in the server's stream before the page comes back.
 */
async function serverShows(
  port: number,
  what: string,
  check: (persona: (key: string) => Record<string, unknown>) => boolean,
) {
  const client = await TestClient.connect(`ws://127.0.0.1:${port}/ws`);
  try {
    const deadline = Date.now() + 10_000;
    while (true) {
      const reply = await client.call("request", "personas");
      const personas = reply.payload?.personas as Personas;
      const byKey = (key: string) =>
        personas.find((p) => `${p.namespace}/${p.name}` === key) ?? {};
      if (check(byKey)) return;
      if (Date.now() > deadline) {
        throw new Error(`Timed out waiting for the server: ${what}.`);
      }
      await delay(20);
    }
  } finally {
    await client.close();
  }
}

Deno.test("the dashboard's follower lists, follows, resumes after a cut, and re-lists when the history moved on", async () => {
  const dir = await copyExamples();
  await using server = await startTestServer({
    source: dir,
    historySize: 2,
  });
  const proxy = cuttingProxy(server.port);
  const { model, states, recoveries, follower, running } = follow(
    server.port,
    proxy.port,
  );
  try {
    await until("live", () => live(states));
    assert.equal(model.personas.size, 6);
    assert.equal(model.deployments.size, 6);
    assert.equal(model.cluster?.name, "eu-west-prod");
    assert.deepEqual(model.cluster?.nodes?.length, 3);
    assert.ok(model.events.some((e) => e.view.reason === "BackOff"));
    assert.equal(
      model.personas.get("production/invoice-worker")?.phase,
      "Failed",
    );

    // A live change.
    await editFile(`${dir}/production/personas.yaml`, {
      from: "phase: Failed",
      to: "phase: Active",
    });
    await until(
      "the edit",
      () => model.personas.get("production/invoice-worker")?.phase === "Active",
    );

    // A short cut: one change while away is replayed, not re-listed.
    proxy.cut();
    await until("reconnecting", () => !live(states));
    await editFile(`${dir}/staging/staging.json`, {
      from: '"status": "Unknown"',
      to: '"status": "Healthy"',
    });
    await serverShows(
      server.port,
      "the edit while away",
      (persona) => persona("staging/order-service").health === "Healthy",
    );
    proxy.heal();
    await until("live again", () => live(states));
    await until("the recovery", () => recoveries.length === 1);
    assert.equal(recoveries[0].how, "resumed");
    assert.equal(recoveries[0].detail, "replayed 1 missed event");
    assert.equal(
      model.personas.get("staging/order-service")?.health,
      "Healthy",
    );

    // A long cut: more changes than the history holds; the page re-lists.
    proxy.cut();
    await until("reconnecting", () => !live(states));
    for (
      const [from, to] of [
        ["phase: Degraded", "phase: Active"],
        [
          "phase: Active\n  health:\n    status: Healthy\n  validation:\n    passed: true\n    issues:\n      - severity: info",
          "phase: Pending\n  health:\n    status: Healthy\n  validation:\n    passed: true\n    issues:\n      - severity: info",
        ],
      ]
    ) {
      await editFile(`${dir}/production/personas.yaml`, { from, to });
    }
    await editFile(`${dir}/staging/staging.json`, {
      from: '"status": "Healthy"',
      to: '"status": "Unknown"',
    });
    await serverShows(
      server.port,
      "the three edits while away",
      (persona) =>
        persona("production/payment-gateway").phase === "Active" &&
        persona("production/storefront").phase === "Pending" &&
        persona("staging/order-service").health === "Unknown",
    );
    proxy.heal();
    await until("the second recovery", () => recoveries.length === 2);
    assert.equal(recoveries[1].how, "re-listed");
    assert.match(recoveries[1].detail, /left the server's history/);
    assert.equal(
      model.personas.get("production/payment-gateway")?.phase,
      "Active",
    );
    assert.equal(model.personas.get("production/storefront")?.phase, "Pending");
    assert.equal(
      model.personas.get("staging/order-service")?.health,
      "Unknown",
    );
    // The listing after a re-list has the type and tier events lack.
    assert.equal(model.personas.get("production/storefront")?.tier, "frontend");
  } finally {
    follower.stop();
    await running;
    proxy.close();
  }
});
