/**
 * Buffers for joined writes, used again once their write has completed
 * instead of left to the garbage collector.
 *
 * Why: frames queued for a client while a write is out are joined into one
 * buffer for its next write. A 10 s saturated fan-out to 1,000 clients
 * joined 150,000 batches, 550 MB in all; each was an ArrayBuffer whose
 * memory, allocated by malloc outside V8's heap, was freed only when a
 * collection found it, so up to 95 MB of finished batches waited at once.
 * malloc kept the memory they had spread over (107 MB of its heap against
 * 11 at rest) long after the run and after a full collection. Reused,
 * batches cost malloc only as many buffers as are ever out at once.
 *
 * Buffers come in sizes of powers of two from 1 KiB to the largest batch,
 * so a batch holds at most twice its bytes; at most {@link KEEP_BYTES} of
 * them wait for reuse.
 *
 * @module
 */

/** The largest batch: joining more than this would copy more than it saves. */
export const MAX_BATCH = 64 * 1024;
const MIN_BUFFER = 1024;
/** Bytes of free buffers kept for reuse; past it they are let go. */
export const KEEP_BYTES = 8 * 1024 * 1024;

/** A pool of batch buffers. */
export class BatchPool {
  // Free buffers by size class: index k holds buffers of MIN_BUFFER << k.
  #free: ArrayBuffer[][] = [];
  #freeBytes = 0;
  // Buffers this pool made: only those are taken back.
  #own = new WeakSet<ArrayBuffer>();

  /** Bytes of free buffers waiting for reuse. */
  get freeBytes(): number {
    return this.#freeBytes;
  }

  /** A buffer of `bytes` (at most {@link MAX_BATCH}) for one batch. */
  take(bytes: number): Uint8Array {
    let size = MIN_BUFFER;
    let k = 0;
    while (size < bytes) {
      size *= 2;
      k++;
    }
    const buffer = this.#free[k]?.pop();
    if (buffer) {
      this.#freeBytes -= size;
      return new Uint8Array(buffer, 0, bytes);
    }
    const made = new ArrayBuffer(size);
    this.#own.add(made);
    return new Uint8Array(made, 0, bytes);
  }

  /**
   * Takes back a batch whose write has completed: nothing may read or
   * write it afterwards. Anything else (a frame written as it was) is left
   * alone.
   */
  give(batch: Uint8Array): void {
    const buffer = batch.buffer as ArrayBuffer;
    if (!this.#own.has(buffer)) return;
    const size = buffer.byteLength;
    if (this.#freeBytes + size > KEEP_BYTES) return;
    const k = Math.log2(size / MIN_BUFFER);
    (this.#free[k] ??= []).push(buffer);
    this.#freeBytes += size;
  }
}

/** The pool every connection of this isolate shares. */
export const sharedBatches: BatchPool = new BatchPool();
