/**
 * Gives memory back once a burst is over. A saturated fan-out grows V8's
 * heap: its young generation to the largest it allows (16 MiB semi-spaces),
 * old-generation pages for frames and writes that waited on slow clients,
 * and ArrayBuffers (frames, joined writes) that wait for a collection to be
 * freed. V8 keeps all of it until its own memory reducer runs, which
 * measured 15 s and more after a 10 s saturated run with 1,000 subscribers
 * stopped (RSS 2.1 times what it was at rest until then), and its timer
 * flag did not bring that forward.
 *
 * So the server watches V8's heap statistics once a second. When the heap
 * has grown well past where the last collection left it, and allocation
 * has been quiet for two readings in a row, it asks V8 for one
 * memory-reducing collection (`gc` with the last-resort flavour: a full
 * collection that also shrinks the young generation and returns free
 * pages). That measured 40 to 150 ms of main-thread time once per burst,
 * and RSS back to 1.02 to 1.14 times rest (with the transport's batch
 * pool) in the runs where malloc happened to return its free memory, and
 * 1.4 to 1.9 times in the others; so each collection is followed by
 * handing malloc's free memory back to the system (native_heap.ts: 7 ms,
 * RSS 0.98 times rest). While anything is busy it never runs, and it runs
 * at most once per growth, so steady traffic pays nothing.
 *
 * V8 exposes `gc` only under `--expose-gc`, which the binary is compiled
 * with (tools/permissions.ts); without it this does nothing.
 *
 * @module
 */
import { getHeapStatistics } from "node:v8";
import type { Logger } from "../log.ts";
import { nativeTrim, type Trim } from "./native_heap.ts";

/** What the reducer reads from V8, bytes. */
export interface HeapReading {
  /** Bytes allocated since start; only grows. */
  allocated: number;
  /** Heap reserved by V8. */
  committed: number;
  /** Memory outside the heap that V8 tracks (ArrayBuffer contents). */
  external: number;
}

/** V8's `gc` under `--expose-gc`. */
export type Collect = (
  options: { type: "major"; flavor: "last-resort" },
) => void;

/** Options for {@link MemoryReducer}. */
export interface MemoryReducerOptions {
  /** The collector; `globalThis.gc` by default (absent without the flag). */
  collect?: Collect;
  /** Reads the heap; V8's heap statistics by default. */
  read?: () => HeapReading;
  /**
   * Gives malloc's free memory back after each collection (native_heap.ts);
   * glibc's `malloc_trim` where it can be called, by default.
   */
  trim?: Trim;
  /** Where each collection is logged (debug level). */
  log?: Logger;
}

/** How often the heap is read, ms. */
export const INTERVAL_MS = 1000;
// Allocation below this between two readings counts as quiet: an idle
// server with thousands of connections allocates well under 1 MiB a
// second, reading its own figures for /metrics about as much again; a
// saturated fan-out allocates 20 to 100 MiB a second.
const QUIET_BYTES = 4 * 1024 * 1024;
// Readings in a row that must be quiet.
const QUIET_READINGS = 2;
// Growth since the last collection (heap reserved plus external memory)
// that is worth one: less is left to V8's own heuristics.
const GROWTH_BYTES = 32 * 1024 * 1024;

function readHeap(): HeapReading {
  // V8 13 and later report total_allocated_bytes; where it is missing the
  // reading is never quiet, so nothing is collected.
  const stats = getHeapStatistics() as
    & ReturnType<typeof getHeapStatistics>
    & { total_allocated_bytes?: number };
  return {
    allocated: stats.total_allocated_bytes ?? NaN,
    committed: stats.total_heap_size,
    external: stats.external_memory,
  };
}

function exposedCollect(): Collect | undefined {
  const gc = (globalThis as { gc?: unknown }).gc;
  return typeof gc === "function" ? gc as Collect : undefined;
}

/** Collects once after each burst, when allocation has gone quiet. */
export class MemoryReducer {
  #collect: Collect | undefined;
  #read: () => HeapReading;
  #trim: Trim | undefined;
  #log: Logger | undefined;
  #timer: ReturnType<typeof setInterval> | undefined;
  #last: HeapReading;
  // Where the last collection (or the start) left the heap.
  #floor: number;
  #quiet = 0;
  /** Collections run so far. */
  collections = 0;

  /** Creates a reducer; {@link MemoryReducer.start} starts its readings. */
  constructor(options: MemoryReducerOptions = {}) {
    this.#collect = options.collect ?? exposedCollect();
    this.#read = options.read ?? readHeap;
    // Opened only where collections can happen at all.
    this.#trim = "trim" in options
      ? options.trim
      : this.#collect && nativeTrim();
    this.#log = options.log;
    this.#last = this.#read();
    this.#floor = this.#last.committed + this.#last.external;
  }

  /** Whether a collector is there to call. */
  get enabled(): boolean {
    return this.#collect !== undefined;
  }

  /** Reads the heap every second until {@link MemoryReducer.stop}. */
  start(): void {
    if (!this.enabled || this.#timer !== undefined) return;
    const timer = setInterval(() => this.check(), INTERVAL_MS);
    // It must never be what keeps the process alive.
    Deno.unrefTimer(timer);
    this.#timer = timer;
  }

  /** Stops the readings. */
  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  /** Takes one reading; collects if it is time. Returns whether it did. */
  check(): boolean {
    const now = this.#read();
    const allocated = now.allocated - this.#last.allocated;
    this.#last = now;
    this.#quiet = allocated < QUIET_BYTES ? this.#quiet + 1 : 0;
    const held = now.committed + now.external;
    // Where a collection leaves the heap is the new floor; a heap that
    // shrank by itself lowers it too.
    this.#floor = Math.min(this.#floor, held);
    if (
      this.#collect === undefined || this.#quiet < QUIET_READINGS ||
      held - this.#floor < GROWTH_BYTES
    ) return false;
    const started = performance.now();
    this.#collect({ type: "major", flavor: "last-resort" });
    // The collection freed the ArrayBuffers' memory to malloc, which keeps
    // it: see native_heap.ts.
    const trimmed = this.#trim?.() ?? false;
    const after = this.#read();
    this.#last = after;
    this.#floor = after.committed + after.external;
    this.#quiet = 0;
    this.collections++;
    this.#log?.debug("Gave memory back after a burst", {
      heldBytes: held,
      afterBytes: this.#floor,
      trimmed,
      ms: Math.round(performance.now() - started),
    });
    return true;
  }
}
