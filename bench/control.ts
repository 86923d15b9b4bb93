/**
 * The line protocol bench/run.ts drives a benchmark server with, over the
 * server's stdin and stdout, so both servers publish exactly alike:
 *
 * - `publish COUNT` publishes COUNT events, yielding to the event loop
 *   after each (as a source does between watch events), then prints
 *   `published MS`.
 * - `flood SECONDS` publishes as fast as the server goes (as `publish`
 *   does) for SECONDS, then prints `published COUNT`.
 * - `rate PER_SECOND SECONDS` publishes PER_SECOND events a second for
 *   SECONDS, catching up after any delay so that the offered rate holds
 *   however busy the server is, then prints `published COUNT`.
 * - `stats` prints `stats {"rss":N,"cpuMs":N}`.
 * - `memory` prints `memory {json}`: {@link memoryBreakdown}.
 * - `gc [OPTIONS]` runs a garbage collection where `--expose-gc` allows
 *   it (OPTIONS: V8's JSON, e.g. `{"flavor":"last-resort"}`), then prints
 *   `gc`.
 * - `snapshot PATH` writes a V8 heap snapshot to PATH, then prints
 *   `snapshot PATH` (for finding what holds memory; slow and large).
 *
 * Each event's `message` carries its send time, in ms since the epoch
 * with microseconds, for the load clients' latency samples.
 *
 * @module
 */
import { getHeapSpaceStatistics, writeHeapSnapshot } from "node:v8";
import type {
  EventMessage,
  KubernetesEvent,
  ResponseMessage,
  SubscribedPayload,
} from "../src/protocol/mod.ts";

// The plain broadcast loops' one stream: what they answer and send.
const EPOCH = "bench";

/**
 * A plain broadcast loop's answer to whatever a client sends (the load
 * clients send one `subscribe`): subscribed at `offset`, as dorgu-ws
 * answers, so the same client runs against every server.
 */
export function subscribedReply(text: string, offset: number): string {
  const { topic, requestId } = JSON.parse(text);
  const payload: SubscribedPayload = {
    status: "subscribed",
    topic,
    epoch: EPOCH,
    offset,
  };
  const reply: ResponseMessage = {
    type: "response",
    topic,
    requestId,
    payload,
    timestamp: new Date().toISOString(),
    epoch: EPOCH,
    offset,
  };
  return JSON.stringify(reply);
}

/** A plain broadcast loop's event frame: `payload` at `offset`. */
export function eventFrame(payload: KubernetesEvent, offset: number): string {
  const event: EventMessage = {
    type: "event",
    topic: "events",
    payload,
    timestamp: new Date().toISOString(),
    offset,
  };
  return JSON.stringify(event);
}

/** Reads commands until stdin closes; prints `listening PORT` first. */
export async function serveControl(
  port: number,
  publish: (payload: KubernetesEvent) => void,
): Promise<void> {
  console.log(`listening ${port}`);
  const channel = new MessageChannel();
  // A message-port round trip is a macrotask without the 4 ms clamp that
  // chained timers get, so the yield lets I/O run without throttling.
  const yieldToLoop = () =>
    new Promise<void>((resolve) => {
      channel.port1.onmessage = () => resolve();
      channel.port2.postMessage(null);
    });
  let buffered = "";
  for await (
    const chunk of Deno.stdin.readable.pipeThrough(new TextDecoderStream())
  ) {
    buffered += chunk;
    let newline;
    while ((newline = buffered.indexOf("\n")) >= 0) {
      const [command, arg, arg2] = buffered.slice(0, newline).trim().split(
        " ",
      );
      buffered = buffered.slice(newline + 1);
      if (command === "publish") {
        const started = performance.now();
        for (let i = 0; i < Number(arg); i++) {
          publish(benchEvent(i));
          await yieldToLoop();
        }
        console.log(`published ${(performance.now() - started).toFixed(1)}`);
      } else if (command === "flood") {
        const endAt = performance.now() + Number(arg) * 1000;
        let published = 0;
        while (performance.now() < endAt) {
          publish(benchEvent(published++));
          await yieldToLoop();
        }
        console.log(`published ${published}`);
      } else if (command === "rate") {
        const perMs = Number(arg) / 1000;
        const started = performance.now();
        const endAt = started + Number(arg2) * 1000;
        let published = 0;
        for (let now = started; now < endAt; now = performance.now()) {
          while (published < Math.floor((now - started) * perMs)) {
            publish(benchEvent(published++));
            await yieldToLoop();
          }
          await new Promise((resolve) => setTimeout(resolve, 5));
        }
        console.log(`published ${published}`);
      } else if (command === "stats") {
        console.log(`stats ${JSON.stringify(processStats())}`);
      } else if (command === "memory") {
        console.log(`memory ${JSON.stringify(memoryBreakdown())}`);
      } else if (command === "gc") {
        // Only with --v8-flags=--expose-gc: what is live, without garbage.
        (globalThis as { gc?: (options?: unknown) => void }).gc?.(
          arg ? JSON.parse(arg) : undefined,
        );
        console.log("gc");
      } else if (command === "snapshot") {
        console.log(`snapshot ${writeHeapSnapshot(arg)}`);
      }
    }
  }
  channel.port1.close();
  Deno.exit(0);
}

/** Event `i`, carrying its send time for the load clients' latency samples. */
export function benchEvent(i: number): KubernetesEvent {
  return {
    kind: "kubernetes",
    namespace: "bench",
    name: `event-${i}`,
    type: "Normal",
    reason: "Benchmark",
    message: (performance.timeOrigin + performance.now()).toFixed(3),
    involvedObject: { kind: "Pod", namespace: "bench", name: "load" },
    count: i,
    lastTimestamp: new Date().toISOString(),
  };
}

/** RSS and CPU time of this process, from /proc. */
export function processStats(): { rss: number; cpuMs: number } {
  const stat = Deno.readTextFileSync("/proc/self/stat");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  const ticks = Number(fields[11]) + Number(fields[12]);
  return { rss: Deno.memoryUsage().rss, cpuMs: ticks * 10 };
}

/** Where a process's memory is, bytes: what the kernel and V8 each say. */
export interface MemoryBreakdown {
  /** Resident set. */
  rss: number;
  /** Resident anonymous memory: heaps, stacks, buffers. */
  anon: number;
  /** Resident file-backed memory: the executable and libraries. */
  file: number;
  /** V8 heap reserved, and in use (live objects and garbage not yet swept). */
  heapTotal: number;
  heapUsed: number;
  /** V8's young generation (new space) reserved. */
  newSpace: number;
  /** Memory outside the V8 heap that V8 knows of (ArrayBuffer contents). */
  external: number;
}

/** This process's memory by kind, from /proc and V8. */
export function memoryBreakdown(): MemoryBreakdown {
  const rollup = Deno.readTextFileSync("/proc/self/smaps_rollup");
  const kb = (name: string) =>
    1024 * Number(new RegExp(`^${name}:\\s+(\\d+) kB$`, "m").exec(rollup)?.[1]);
  const usage = Deno.memoryUsage();
  const spaces = getHeapSpaceStatistics();
  return {
    rss: kb("Rss"),
    anon: kb("Anonymous"),
    file: kb("Rss") - kb("Anonymous"),
    heapTotal: usage.heapTotal,
    heapUsed: usage.heapUsed,
    newSpace: spaces.find((s) => s.space_name === "new_space")?.space_size ?? 0,
    external: usage.external,
  };
}
