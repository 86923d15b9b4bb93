import assert from "node:assert/strict";
import {
  type HeapReading,
  MemoryReducer,
} from "../src/server/memory_reducer.ts";
import { V8_FLAGS_ARG } from "../tools/permissions.ts";

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

  reducer(): MemoryReducer {
    return new MemoryReducer({
      read: () => this.reading,
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
