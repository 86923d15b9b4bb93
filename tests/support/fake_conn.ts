/**
 * A scripted stand-in for a `Deno.Conn`, for unit tests of the transport
 * in the manner of gorilla/websocket's fake connections: the test says
 * what the peer sends and how (split into reads of any size, then EOF or
 * a reset, even mid-frame), and how the kernel takes writes (all at once,
 * a few bytes at a time, or never), and reads back every byte written.
 * Paired with a hand-moved clock, it reaches states a real socket cannot
 * be driven into on demand.
 */
import { OPCODE } from "../../src/transport/frames.ts";

/** How the fake kernel takes writes. */
export type WritePolicy =
  /** Every write completes at once, whole. */
  | "all"
  /** Every write completes at once with at most this many bytes. */
  | { partial: number }
  /** Writes wait until {@link FakeConn.flush} (or the close). */
  | "hang";

/** One frame the server wrote. */
export interface WrittenFrame {
  opcode: number;
  fin: boolean;
  payload: Uint8Array;
}

interface Waiter<T> {
  resolve(value: T): void;
  reject(error: Error): void;
}

/** A connection whose peer and kernel are played by the test. */
export class FakeConn {
  /** How writes behave from now on. */
  writes: WritePolicy = "all";
  /** Whether `close()` was called. */
  closed = false;
  /** Whether `closeWrite()` was called. */
  writeClosed = false;
  /** Calls to `write()`, each with the bytes it offered. */
  readonly writeCalls: number[] = [];
  readonly remoteAddr: Deno.NetAddr = {
    transport: "tcp",
    hostname: "192.0.2.1",
    port: 40000,
  };
  readonly localAddr: Deno.NetAddr = {
    transport: "tcp",
    hostname: "127.0.0.1",
    port: 9090,
  };
  #inbound: Uint8Array[] = [];
  #end: "eof" | "reset" | undefined;
  #reader: (Waiter<number | null> & { into: Uint8Array }) | undefined;
  #hanging: (Waiter<number> & { bytes: Uint8Array })[] = [];
  #out: Uint8Array[] = [];

  /** The `Deno.Conn` to hand to the code under test. */
  get conn(): Deno.Conn {
    return this as unknown as Deno.Conn;
  }

  /**
   * The peer sends `bytes`, which reads take at most `split` at a time
   * (1: every byte in a read of its own).
   */
  send(bytes: Uint8Array, options: { split?: number } = {}): void {
    const split = options.split ?? bytes.length;
    for (let at = 0; at < bytes.length; at += split) {
      this.#inbound.push(bytes.slice(at, at + split));
    }
    this.#serve();
  }

  /** The peer ends its stream after what it sent: reads return null. */
  end(): void {
    this.#end = "eof";
    this.#serve();
  }

  /** The connection is reset after what was sent: the next read fails. */
  reset(): void {
    this.#end = "reset";
    this.#serve();
  }

  /** Completes every write waiting under the "hang" policy, whole. */
  flush(): void {
    const hanging = this.#hanging;
    this.#hanging = [];
    for (const write of hanging) {
      this.#out.push(write.bytes);
      write.resolve(write.bytes.length);
    }
  }

  /** Whether a write is waiting under the "hang" policy. */
  get writeWaiting(): boolean {
    return this.#hanging.length > 0;
  }

  /** Every byte written so far. */
  get written(): Uint8Array {
    const all = new Uint8Array(this.#out.reduce((n, c) => n + c.length, 0));
    let at = 0;
    for (const chunk of this.#out) {
      all.set(chunk, at);
      at += chunk.length;
    }
    return all;
  }

  /** Forgets what was written so far. */
  clearWritten(): void {
    this.#out = [];
  }

  /**
   * The frames written so far (a frame cut short is left out); with
   * `afterHead`, those after an HTTP response head (the 101).
   */
  frames(options: { afterHead?: boolean } = {}): WrittenFrame[] {
    const written = this.written;
    if (!options.afterHead) return parseFrames(written);
    for (let i = 3; i < written.length; i++) {
      if (
        written[i - 3] === 13 && written[i - 2] === 10 &&
        written[i - 1] === 13 && written[i] === 10
      ) return parseFrames(written.subarray(i + 1));
    }
    return [];
  }

  read(into: Uint8Array): Promise<number | null> {
    if (this.closed) return Promise.reject(new Deno.errors.BadResource());
    return new Promise((resolve, reject) => {
      this.#reader = { resolve, reject, into };
      this.#serve();
    });
  }

  write(bytes: Uint8Array): Promise<number> {
    this.writeCalls.push(bytes.length);
    if (this.closed || this.writeClosed) {
      return Promise.reject(new Deno.errors.BrokenPipe());
    }
    const policy = this.writes;
    if (policy === "hang") {
      return new Promise((resolve, reject) =>
        this.#hanging.push({ resolve, reject, bytes: bytes.slice() })
      );
    }
    const taken = policy === "all"
      ? bytes.length
      : Math.min(bytes.length, policy.partial);
    this.#out.push(bytes.slice(0, taken));
    return Promise.resolve(taken);
  }

  closeWrite(): Promise<void> {
    this.writeClosed = true;
    return Promise.resolve();
  }

  close(): void {
    if (this.closed) throw new Deno.errors.BadResource();
    this.closed = true;
    const reader = this.#reader;
    this.#reader = undefined;
    reader?.reject(new Deno.errors.BadResource());
    const hanging = this.#hanging;
    this.#hanging = [];
    for (const write of hanging) write.reject(new Deno.errors.BadResource());
  }

  setNoDelay(): void {}

  #serve(): void {
    const reader = this.#reader;
    if (!reader) return;
    const chunk = this.#inbound[0];
    if (chunk) {
      const n = Math.min(chunk.length, reader.into.length);
      reader.into.set(chunk.subarray(0, n));
      if (n === chunk.length) this.#inbound.shift();
      else this.#inbound[0] = chunk.subarray(n);
      this.#reader = undefined;
      reader.resolve(n);
    } else if (this.#end === "eof") {
      this.#reader = undefined;
      reader.resolve(null);
    } else if (this.#end === "reset") {
      this.#reader = undefined;
      reader.reject(new Deno.errors.ConnectionReset("reset by the peer"));
    }
  }
}

/** Parses server (unmasked) frames; a frame cut short is left out. */
export function parseFrames(bytes: Uint8Array): WrittenFrame[] {
  const frames: WrittenFrame[] = [];
  let at = 0;
  while (at + 2 <= bytes.length) {
    let length = bytes[at + 1] & 0x7f;
    let header = 2;
    if (length === 126) {
      if (at + 4 > bytes.length) break;
      length = (bytes[at + 2] << 8) | bytes[at + 3];
      header = 4;
    } else if (length === 127) {
      if (at + 10 > bytes.length) break;
      length = new DataView(bytes.buffer, bytes.byteOffset + at + 6, 4)
        .getUint32(0);
      header = 10;
    }
    if (at + header + length > bytes.length) break;
    frames.push({
      opcode: bytes[at] & 0x0f,
      fin: (bytes[at] & 0x80) !== 0,
      payload: bytes.slice(at + header, at + header + length),
    });
    at += header + length;
  }
  return frames;
}

/** The opcodes of `frames`, as names, for readable assertions. */
export function kinds(frames: WrittenFrame[]): string[] {
  const names: Record<number, string> = {
    [OPCODE.text]: "text",
    [OPCODE.binary]: "binary",
    [OPCODE.close]: "close",
    [OPCODE.ping]: "ping",
    [OPCODE.pong]: "pong",
  };
  return frames.map((f) => names[f.opcode] ?? `op${f.opcode}`);
}

/** The close code of a close frame's payload. */
export function closeCodeOf(frame: WrittenFrame | undefined): number {
  if (!frame || frame.payload.length < 2) return 1005;
  return (frame.payload[0] << 8) | frame.payload[1];
}

/** A clock the test moves by hand. */
export class FakeClock {
  /** Milliseconds. */
  now = 0;
  /** The function to inject. */
  readonly read = (): number => this.now;
  /** Moves the clock on by `ms` and returns the new time. */
  advance(ms: number): number {
    this.now += ms;
    return this.now;
  }
}

/** Lets pending promise callbacks (reads, writes) run, for `turns` turns. */
export async function settle(turns = 5): Promise<void> {
  for (let i = 0; i < turns; i++) {
    await new Promise((resolve) => setTimeout(resolve, 0));
  }
}
