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

Deno.test("write pacer: once nothing waits, it does not keep the process alive", async () => {
  const script = `
    import { WritePacer } from ${
    JSON.stringify(new URL("../src/transport/write_pacer.ts", import.meta.url))
  };
    const pacer = new WritePacer(10);
    let resumed = 0;
    const writer = { resumeWrite: () => resumed++ };
    for (let i = 0; i < 100; i++) pacer.admit(writer);
    globalThis.addEventListener("unload", () => console.log(resumed));
  `;
  const child = new Deno.Command(Deno.execPath(), {
    args: ["eval", script],
    stdout: "piped",
  }).spawn();
  const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
  const output = await child.output();
  clearTimeout(timer);
  assert.ok(output.success, "the process ended by itself");
  assert.equal(new TextDecoder().decode(output.stdout).trim(), "90");
});
