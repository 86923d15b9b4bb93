/**
 * The write pacer: at most its limit of writes start in one turn of the
 * event loop, the rest in the turns after, oldest first; its message port
 * is closed once nothing waits, or it would keep the process alive.
 */
import assert from "node:assert/strict";
import { type PacedWriter, WritePacer } from "../src/transport/write_pacer.ts";

/**
 * Writers that record the writes the pacer resumes, grouped by the
 * synchronous run they were resumed in (one turn of the pacer's).
 */
class Batches {
  ids: number[] = [];
  sizes: number[] = [];
  #open = false;

  writer(id: number): PacedWriter {
    return {
      resumeWrite: () => {
        this.ids.push(id);
        if (!this.#open) {
          this.#open = true;
          this.sizes.push(0);
          queueMicrotask(() => this.#open = false);
        }
        this.sizes[this.sizes.length - 1]++;
      },
    };
  }
}

// Resolves after `count` macrotasks.
async function turns(count: number): Promise<void> {
  for (let i = 0; i < count; i++) {
    await new Promise((resolve) => setTimeout(resolve, 0));
  }
}

Deno.test("write pacer: a fan-out past the limit starts the limit now and the rest in later turns, the limit a turn, in order", async () => {
  const pacer = new WritePacer(10);
  const batches = new Batches();
  const writers = Array.from({ length: 35 }, (_, i) => batches.writer(i));
  let started = 0;
  for (const writer of writers) {
    if (pacer.admit(writer)) started++;
  }
  assert.equal(started, 10, "the limit starts at once");
  assert.equal(pacer.waiting, 25);
  while (pacer.waiting > 0) await turns(1);
  await turns(2);
  assert.deepEqual(batches.sizes, [10, 10, 5]);
  assert.deepEqual(
    batches.ids,
    Array.from({ length: 25 }, (_, i) => i + 10),
    "every deferred write started once, oldest first",
  );
});

Deno.test("write pacer: within the limit a write starts at once, and the count starts over each turn", async () => {
  const pacer = new WritePacer(4);
  const writer: PacedWriter = {
    resumeWrite: () => assert.fail("never deferred"),
  };
  for (let round = 0; round < 3; round++) {
    for (let i = 0; i < 4; i++) assert.ok(pacer.admit(writer));
    await turns(2);
  }
  assert.equal(pacer.waiting, 0);
});

const PACER_MODULE = JSON.stringify(
  new URL("../src/transport/write_pacer.ts", import.meta.url),
);

// Runs `script` in a process of its own (killed after 60 s), which must end
// by itself; returns what it printed.
async function runAlone(script: string, flags: string[] = []): Promise<string> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["eval", ...flags, script],
    stdout: "piped",
  }).spawn();
  const timer = setTimeout(() => child.kill("SIGKILL"), 60_000);
  const output = await child.output();
  clearTimeout(timer);
  assert.ok(output.success, "the process ended by itself");
  return new TextDecoder().decode(output.stdout).trim();
}

Deno.test("write pacer: once nothing waits, it does not keep the process alive", async () => {
  const script = `
    import { WritePacer } from ${PACER_MODULE};
    const pacer = new WritePacer(10);
    let resumed = 0;
    const writer = { resumeWrite: () => resumed++ };
    for (let i = 0; i < 100; i++) pacer.admit(writer);
    globalThis.addEventListener("unload", () => console.log(resumed));
  `;
  assert.equal(await runAlone(script), "90");
});

Deno.test("write pacer: under load that never lets its queue empty, it holds memory for the writers waiting, not for every write ever deferred", async () => {
  // 200 writers, each starting its next write as soon as the last one
  // completes (a saturated fan-out, or clients flooding pings): more than
  // the limit always wait, so the queue never empties. Two million
  // deferred writes must not leave two million slots behind (a 40 s
  // saturated fan-out to 1,000 clients left 1.6 million).
  const script = `
    import { WritePacer } from ${PACER_MODULE};
    const pacer = new WritePacer(96);
    let resumed = 0;
    const writers = Array.from({ length: 200 }, () => {
      const writer = {
        resumeWrite() {
          resumed++;
          queueMicrotask(() => {
            if (pacer.admit(writer)) writer.resumeWrite();
          });
        },
      };
      return writer;
    });
    for (const writer of writers) {
      if (pacer.admit(writer)) writer.resumeWrite();
    }
    gc();
    const before = Deno.memoryUsage().heapUsed;
    let most = 0;
    while (resumed < 2_000_000) {
      await new Promise((resolve) => setTimeout(resolve, 0));
      most = Math.max(most, pacer.waiting);
    }
    // Measured while the load goes on: the queue has never emptied.
    gc();
    const grown = Deno.memoryUsage().heapUsed - before;
    console.log(JSON.stringify({ grown, most }));
    Deno.exit(0);
  `;
  const { grown, most } = JSON.parse(
    await runAlone(script, ["--v8-flags=--expose-gc"]),
  );
  assert.ok(most > 96 && most <= 200, `writers waiting: ${most}`);
  assert.ok(
    grown < 2 * 1024 * 1024,
    `heap grew ${
      (grown / 1048576).toFixed(1)
    } MiB over 2,000,000 deferred writes`,
  );
});
