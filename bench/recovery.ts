/**
 * How soon after the followed kube-apiserver is back dorgu-ws has caught up
 * (prints one `result {json}` line). A real etcd with two apiservers: the
 * server follows the primary while every write goes through the secondary,
 * so a change can be made while the primary is down, frozen or restarting.
 * dorgu-ws runs as the binary would (`main.ts`, its permissions, default
 * informer settings) and a WebSocket client counts every persona event.
 *
 * Each phase changes one persona while the primary is away, brings the
 * primary back, and times from "back" (its `/readyz` answering 200 after a
 * restart, or SIGCONT) to the client receiving that change. Every event the
 * client sees is checked: none skipped, none doubled, and the end state
 * equals the API's.
 *
 * @module
 */
import {
  apiPersonas,
  patchStatus,
  persona,
  TopicView,
} from "../tests/support/cluster_objects.ts";
import { type Apiserver, Envtest } from "../tests/support/envtest.ts";
import { delay, waitReady } from "../tests/support/server.ts";
import { TestClient } from "../tests/support/ws_client.ts";
import { spawnServe } from "./serve.ts";

const PROBE = "/apis/dorgu.io/v1/namespaces/prod/applicationpersonas/probe";

/** One measured recovery. */
interface Phase {
  name: string;
  /** Milliseconds from the primary being back to the change arriving. */
  caughtUpMs: number;
}

/** Runs every phase against a fresh control plane. */
export async function recovery(): Promise<
  { phases: Phase[]; exact: boolean }
> {
  const env = await Envtest.start();
  let writer: Apiserver | undefined;
  let server: Deno.ChildProcess | undefined;
  let client: TestClient | undefined;
  try {
    await env.installCrds();
    await env.ensureNamespace("prod");
    await env.apply(
      ["probe", "steady-1", "steady-2"].map((name) => persona("prod", name)),
    );
    writer = await env.startSecondary();
    const { port, child } = spawnServe([
      "--kubeconfig",
      env.kubeconfig,
      "--log-level",
      "error",
    ]);
    server = child;
    await waitReady(`http://127.0.0.1:${port}`, { timeoutMs: 60_000 });
    client = await TestClient.connect(`ws://127.0.0.1:${port}/ws`);
    const view = new TopicView(["phase", "health"]);
    await client.call("subscribe", "personas");
    view.list(await client.call("request", "personas"), "personas");
    const connected = client;
    const primary = env.primary;
    const api = writer;
    let changes = 0;
    const phases: Phase[] = [];

    // Changes the probe while `away` runs, then times from `back` resolving
    // to the change reaching the client.
    const measure = async (
      name: string,
      away: () => Promise<void>,
      back: () => Promise<void>,
    ) => {
      await away();
      const count = ++changes;
      await patchStatus(api, PROBE, { phase: `Phase-${count}` });
      let arrived = 0;
      const arrival = connected.waitForCount(
        (m) =>
          m.type === "event" && m.topic === "personas" &&
          m.payload?.name === "probe",
        count,
        `the change of phase ${name}`,
        180_000,
      ).then(() => arrived = performance.now());
      await back();
      const returned = performance.now();
      await arrival;
      const caughtUpMs = Math.max(0, arrived - returned);
      phases.push({ name, caughtUpMs });
      console.error(`  ${name}: caught up ${(caughtUpMs / 1000).toFixed(2)} s`);
    };
    const kill = (downMs: number) => async () => {
      await primary.stop();
      await delay(downMs);
    };
    const restart = () => primary.start();

    await measure("blip", kill(0), restart);
    await measure("outage-20s", kill(20_000), restart);
    await delay(120_000);
    await measure("blip-2min-after-outage", kill(0), restart);
    await measure("outage-60s", kill(60_000), restart);
    await measure(
      "sigstop-20s",
      async () => {
        primary.signal("SIGSTOP");
        await delay(20_000);
      },
      () => Promise.resolve(primary.signal("SIGCONT")),
    );

    // Anything late (a doubled event) would arrive now.
    await delay(2000);
    let exact = true;
    try {
      for (const message of connected.received) {
        if (message.type === "event" && message.topic === "personas") {
          view.apply(message);
        }
      }
      const probeEvents = connected.events("personas").filter((m) =>
        m.payload?.name === "probe"
      );
      if (probeEvents.length !== changes) {
        throw new Error(`${probeEvents.length} events for ${changes} changes`);
      }
      const expected = JSON.stringify(await apiPersonas(api));
      if (JSON.stringify(view.snapshot()) !== expected) {
        throw new Error(`client state differs from the API: ${expected}`);
      }
    } catch (error) {
      console.error(`  events not exact: ${(error as Error).message}`);
      exact = false;
    }
    return { phases, exact };
  } finally {
    await client?.close();
    server?.kill("SIGTERM");
    await server?.status;
    await env.stop();
  }
}

if (import.meta.main) {
  const { phases, exact } = await recovery();
  const result = Object.fromEntries(
    phases.map(({ name, caughtUpMs }) => [name, caughtUpMs]),
  );
  console.log(
    `result ${JSON.stringify({ ...result, inexact: exact ? 0 : 1 })}`,
  );
}
