import assert from "node:assert/strict";
import {
  type HeapReading,
  MemoryReducer,
} from "../src/server/memory_reducer.ts";
import { RUNTIME_PERMISSIONS, V8_FLAGS_ARG } from "../tools/permissions.ts";

const MiB = 1024 * 1024;

/** A heap whose readings the test sets, and a collector that shrinks it. */
class FakeHeap {
  reading: HeapReading = { allocated: 0, committed: 20 * MiB, external: 0 };
  collected = 0;

  allocate(bytes: number, grow = 0): void {
    this.reading = {
      ...this.reading,
      allocated: this.reading.allocated + bytes,
      committed: this.reading.committed + grow,
    };
  }

  trimmed = 0;

  reducer(): MemoryReducer {
    return new MemoryReducer({
      read: () => this.reading,
      trim: () => {
        assert.equal(this.trimmed, this.collected - 1, "after each collection");
        this.trimmed++;
        return true;
      },
      collect: (options) => {
        assert.deepEqual(options, { type: "major", flavor: "last-resort" });
        this.collected++;
        this.reading = { ...this.reading, committed: 24 * MiB };
      },
    });
  }
}

Deno.test("memory reducer: collects once after a burst, when allocation has been quiet for two readings", () => {
  const heap = new FakeHeap();
  const reducer = heap.reducer();
  // A burst: 80 MiB a second, the heap growing to 120 MiB.
  for (let i = 0; i < 5; i++) {
    heap.allocate(80 * MiB, 20 * MiB);
    assert.equal(reducer.check(), false, "never while busy");
  }
  heap.allocate(100 * 1024);
  assert.equal(reducer.check(), false, "one quiet reading is not enough");
  heap.allocate(100 * 1024);
  assert.equal(reducer.check(), true);
  assert.equal(heap.collected, 1);
  for (let i = 0; i < 10; i++) {
    heap.allocate(100 * 1024);
    assert.equal(reducer.check(), false, "once per burst");
  }
  assert.equal(reducer.collections, 1);
  assert.equal(heap.trimmed, 1);
});

Deno.test("memory reducer: growth under 32 MiB, or steady traffic, costs no collection", () => {
  const heap = new FakeHeap();
  const reducer = heap.reducer();
  heap.allocate(40 * MiB, 30 * MiB);
  for (let i = 0; i < 5; i++) {
    heap.allocate(1000);
    assert.equal(reducer.check(), false);
  }
  // Steady traffic: the heap grows, allocation never goes quiet.
  for (let i = 0; i < 20; i++) {
    heap.allocate(10 * MiB, 5 * MiB);
    assert.equal(reducer.check(), false);
  }
  assert.equal(heap.collected, 0);
});

Deno.test("memory reducer: the next burst gets its own collection", () => {
  const heap = new FakeHeap();
  const reducer = heap.reducer();
  for (let burst = 1; burst <= 3; burst++) {
    heap.allocate(200 * MiB, 60 * MiB);
    reducer.check();
    heap.allocate(0);
    reducer.check();
    heap.allocate(0);
    reducer.check();
    assert.equal(heap.collected, burst);
  }
});

Deno.test("memory reducer: without V8's gc it does nothing, and never keeps the process alive", () => {
  // deno test runs without --expose-gc.
  const reducer = new MemoryReducer();
  assert.equal(reducer.enabled, false);
  reducer.start();
  assert.equal(reducer.check(), false);
  reducer.stop();
});

Deno.test("memory reducer: with the binary's V8 flags, a real burst's heap is given back", async () => {
  // A process of its own, run with the flags the binary is compiled with.
  const script = `
    import { MemoryReducer } from ${
    JSON.stringify(new URL("../src/server/memory_reducer.ts", import.meta.url))
  };
    import { getHeapStatistics } from "node:v8";
    const held = () => getHeapStatistics().total_heap_size;
    const reducer = new MemoryReducer();
    let keep = [];
    for (let i = 0; i < 400_000; i++) {
      keep.push({ i, text: "x".repeat(64) + i });
      if (keep.length > 200_000) keep = keep.slice(100_000);
    }
    keep = [];
    const before = held();
    const results = [reducer.check(), reducer.check(), reducer.check()];
    console.log(JSON.stringify({ enabled: reducer.enabled, results, before, after: held() }));
  `;
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["eval", V8_FLAGS_ARG, script],
    stdout: "piped",
    stderr: "inherit",
  }).output();
  assert.ok(output.success);
  const result = JSON.parse(new TextDecoder().decode(output.stdout));
  assert.equal(result.enabled, true);
  assert.deepEqual(result.results, [false, false, true]);
  assert.ok(
    result.after < result.before / 2,
    `heap ${result.before} -> ${result.after} bytes`,
  );
});

/**
 * A burst of ArrayBuffers as the server's are (malloc'd outside V8's
 * heap), one of them allocated last and kept, as something always is;
 * then the reducer, with the binary's permissions and V8 flags. Returns
 * the process's RSS before the burst and after the reducer, MB.
 */
async function nativeBurst(trim: boolean) {
  const script = `
    import { MemoryReducer } from ${
    JSON.stringify(new URL("../src/server/memory_reducer.ts", import.meta.url))
  };
    const anon = () => Deno.memoryUsage().rss / 1024 / 1024;
    const reducer = new MemoryReducer(${trim} ? {} : { trim: undefined });
    const rest = anon();
    let burst: Uint8Array[] = [];
    for (let i = 0; i < 150_000; i++) burst.push(new Uint8Array(1000 + (i % 7) * 40));
    const kept = new Uint8Array(700);
    burst = [];
    const results = [reducer.check(), reducer.check(), reducer.check()];
    console.log(JSON.stringify({ results, rest, after: anon(), kept: kept.length }));
  `;
  return await runAsBinary(script, [...RUNTIME_PERMISSIONS, V8_FLAGS_ARG]);
}

/**
 * Runs `script` with `flags` and returns what it printed, parsed. Not
 * `deno eval`, which allows everything whatever the flags say.
 */
async function runAsBinary(script: string, flags: string[]) {
  const file = await Deno.makeTempFile({ suffix: ".ts" });
  try {
    await Deno.writeTextFile(file, script);
    const output = await new Deno.Command(Deno.execPath(), {
      args: ["run", ...flags, file],
      stdout: "piped",
      stderr: "inherit",
    }).output();
    assert.ok(output.success);
    return JSON.parse(new TextDecoder().decode(output.stdout));
  } finally {
    await Deno.remove(file);
  }
}

Deno.test({
  name:
    "memory reducer: with the binary's permissions, malloc's free memory goes back to the system after a burst of ArrayBuffers",
  ignore: Deno.build.os !== "linux",
  async fn() {
    const [trimmed, kept] = [await nativeBurst(true), await nativeBurst(false)];
    assert.deepEqual(trimmed.results, [false, false, true]);
    assert.deepEqual(kept.results, [false, false, true]);
    // Without the trim, malloc keeps most of the ~150 MB the burst freed.
    assert.ok(kept.after - kept.rest > 60, JSON.stringify(kept));
    assert.ok(trimmed.after - trimmed.rest < 30, JSON.stringify(trimmed));
  },
});

Deno.test("native heap: FFI opens the C library and nothing else under the binary's permissions", async () => {
  const script = `
    import { LIBC_PATHS, nativeTrim } from ${
    JSON.stringify(new URL("../src/server/native_heap.ts", import.meta.url))
  };
    let other = "opened";
    try {
      Deno.dlopen("/usr/lib/x86_64-linux-gnu/libm.so.6", { cos: { parameters: ["f64"], result: "f64" } });
    } catch (error) {
      other = (error as Error).name;
    }
    const trim = nativeTrim();
    const none = nativeTrim(["/nowhere/libc.so.6"]);
    console.log(JSON.stringify({ trim: trim?.(), none: none === undefined, other }));
  `;
  const result = await runAsBinary(script, [...RUNTIME_PERMISSIONS]);
  assert.equal(typeof result.trim, "boolean");
  assert.equal(result.none, true);
  assert.equal(result.other, "NotCapable");
});
