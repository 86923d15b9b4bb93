/**
 * The client library against a server that goes silent without closing:
 * a real `serve --source` behind a TCP proxy that freezes the connection
 * (a NAT or a load balancer that forgot it, a laptop that slept). The
 * server's pings never reach the script, so only the client's own
 * question notices; the follow must reconnect and resume, and hand on the
 * change made while it was cut off, once.
 */
import assert from "node:assert/strict";
import { Client, type FollowState } from "../src/client/mod.ts";
import type { PersonaEvent } from "../src/protocol/mod.ts";
import { TcpProxy } from "./support/proc.ts";
import { delay, editFile, spawnExample } from "./support/server.ts";

const unsanitized = { sanitizeOps: false, sanitizeResources: false };

/** Resolves once `check` holds; rejects after `ms`, saying `what`. */
async function until(check: () => boolean, ms: number, what: () => string) {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`Timed out: ${what()}`);
    await delay(25);
  }
}

Deno.test({
  name:
    "a follow notices a server gone silent (a frozen connection), reconnects and resumes with what it missed",
  ...unsanitized,
  async fn() {
    await using example = await spawnExample();
    const proxy = new TcpProxy(example.server.port);
    proxy.start();
    const client = new Client(`ws://127.0.0.1:${proxy.port}/ws`, {
      idleMs: 300,
      timeoutMs: 1000,
      backoff: { initialMs: 50, maxMs: 100 },
    });
    const states: FollowState[] = [];
    const phases: string[] = [];
    const follower = client.follow([{ topic: "personas" }], {
      state: (state) => states.push(state),
      event: (message) => {
        phases.push((message.payload as PersonaEvent).phase);
      },
    });
    const running = follower.run();
    const said = () => JSON.stringify({ states, phases });
    try {
      await until(() => states.some((s) => s.state === "live"), 10_000, said);
      proxy.freeze();
      await editFile(`${example.dir}/production/personas.yaml`, {
        from: "phase: Failed",
        to: "phase: Degraded",
      });
      await until(() => phases.length > 0, 10_000, said);
      assert.deepEqual(phases, ["Degraded"]);
      const lost = states.find((s) => s.state === "reconnecting");
      assert.equal(
        lost?.state === "reconnecting" && lost.reason,
        "the connection dropped (1006)",
      );
      assert.equal(states.filter((s) => s.state === "live").length, 2);
    } finally {
      follower.stop();
      await running;
      proxy.stop();
    }
  },
});
