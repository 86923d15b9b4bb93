/**
 * The one-shot timers that bypass the global `setTimeout`: they fire on
 * time, cancel cleanly, and hold the process open only while armed.
 */
import assert from "node:assert/strict";
import { startTimer } from "../src/timer.ts";

const TIMER = new URL("../src/timer.ts", import.meta.url).href;

Deno.test("timer: fires once after its time, not before", async () => {
  const started = performance.now();
  let fired = 0;
  await new Promise<void>((resolve) =>
    startTimer(30, () => {
      fired++;
      resolve();
    })
  );
  assert.ok(performance.now() - started >= 29, "fired early");
  await new Promise<void>((resolve) => startTimer(20, resolve));
  assert.equal(fired, 1);
});

Deno.test("timer: a cancelled timer never fires; zero, negative and NaN fire at once", async () => {
  let fired = false;
  const cancel = startTimer(10, () => fired = true);
  cancel();
  cancel();
  await new Promise<void>((resolve) => startTimer(40, resolve));
  assert.equal(fired, false);
  for (const ms of [0, -5, Number.NaN, 0.2]) {
    await new Promise<void>((resolve) => startTimer(ms, resolve));
  }
});

Deno.test("timer: a wait longer than the runtime's timers take (2^31 - 1 ms) does not fire at once", async () => {
  let fired = false;
  const cancels = [2 ** 31, 2 ** 40, Number.MAX_VALUE, Infinity].map((ms) =>
    startTimer(ms, () => fired = true)
  );
  await new Promise<void>((resolve) => startTimer(60, resolve));
  for (const cancel of cancels) cancel();
  assert.equal(fired, false);
});

Deno.test("timer: never calls the global setTimeout", async () => {
  // Deno 2.9's setTimeout is Node's, whose first call costs milliseconds.
  const original = globalThis.setTimeout;
  globalThis.setTimeout = (() => {
    throw new Error("setTimeout was called");
  }) as unknown as typeof setTimeout;
  try {
    await new Promise<void>((resolve) => startTimer(1, resolve));
  } finally {
    globalThis.setTimeout = original;
  }
});

/** Runs `code` in a fresh process; how long it took and what it printed. */
async function run(code: string): Promise<{ ms: number; out: string }> {
  const started = performance.now();
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["eval", `import { startTimer } from "${TIMER}";\n${code}`],
    stdout: "piped",
    stderr: "inherit",
  }).output();
  assert.ok(output.success);
  return {
    ms: performance.now() - started,
    out: new TextDecoder().decode(output.stdout).trim(),
  };
}

Deno.test("timer: an armed timer keeps the process alive, a cancelled one does not", async () => {
  const armed = await run(`startTimer(300, () => console.log("fired"));`);
  assert.equal(armed.out, "fired");
  const cancelled = await run(
    `const cancel = startTimer(8000, () => console.log("fired"));
     cancel();
     console.log("done");`,
  );
  assert.equal(cancelled.out, "done");
  assert.ok(cancelled.ms < 6000, `the process waited ${cancelled.ms} ms`);
});
