/**
 * What the hardening tests and the soak benchmark share: a server
 * process's memory and descriptors read from /proc, a well-behaved client
 * that proves every event still arrives in order, and raw HTTP exchanges.
 */
import { OPCODE } from "../../src/transport/frames.ts";
import { clientFrame, concat, RawSocket } from "./raw_ws.ts";
import {
  type ExampleServer,
  type LaunchOptions,
  type ServerProcess,
  spawnExample,
} from "./server.ts";
import { TestClient } from "./ws_client.ts";

/** The resident set of process `pid`, in bytes (VmRSS). */
export function rssOf(pid: number): number {
  const status = Deno.readTextFileSync(`/proc/${pid}/status`);
  const match = /^VmRSS:\s+(\d+) kB$/m.exec(status);
  if (!match) throw new Error(`/proc/${pid}/status has no VmRSS line.`);
  return Number(match[1]) * 1024;
}

/** How many descriptors process `pid` has open. */
export function openFiles(pid: number): number {
  let count = 0;
  for (const _ of Deno.readDirSync(`/proc/${pid}/fd`)) count++;
  return count;
}

/** Bytes as MiB with one decimal, for reports. */
export function mib(bytes: number): string {
  return (bytes / (1024 * 1024)).toFixed(1);
}

/** RSS of a process before, at its peak during, and after something. */
export interface MemoryReport {
  before: number;
  peak: number;
  after: number;
}

/**
 * Samples a process's RSS every `everyMs` until {@link RssSampler.stop};
 * keeps the highest reading.
 */
export class RssSampler {
  /** The highest reading so far, bytes. */
  peak: number;
  readonly #pid: number;
  readonly #timer: ReturnType<typeof setInterval>;

  /** Starts sampling `pid`. */
  constructor(pid: number, everyMs = 50) {
    this.#pid = pid;
    this.peak = rssOf(pid);
    this.#timer = setInterval(() => this.sample(), everyMs);
  }

  /** Takes one reading now; returns it. */
  sample(): number {
    const rss = rssOf(this.#pid);
    if (rss > this.peak) this.peak = rss;
    return rss;
  }

  /** Stops sampling; returns the peak. */
  stop(): number {
    clearInterval(this.#timer);
    this.sample();
    return this.peak;
  }
}

/** Resolves after `ms`. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Waits until `pid`'s RSS settles at or below `limit` bytes, up to
 * `timeoutMs`; returns the last reading (which may still be above it). A
 * process gives memory back lazily, after its garbage collector runs.
 */
export async function settledRss(
  pid: number,
  options: { limit: number; timeoutMs?: number },
): Promise<number> {
  const deadline = Date.now() + (options.timeoutMs ?? 10_000);
  let rss = rssOf(pid);
  while (rss > options.limit && Date.now() < deadline) {
    await sleep(200);
    rss = rssOf(pid);
  }
  return rss;
}

/** The probe's objects: ApplicationPersonas in their own namespace. */
export const PROBE_NAMESPACE = "probe";

/**
 * A manifest file of `count` ApplicationPersonas named `${namespace}-0`
 * onwards, all with health `health`: rewriting it with another health
 * makes the source publish one `updated` event per persona.
 */
export function personaList(
  count: number,
  options: { namespace: string; health: string },
): string {
  const { namespace, health } = options;
  const items = Array.from({ length: count }, (_, i) => ({
    apiVersion: "dorgu.io/v1",
    kind: "ApplicationPersona",
    metadata: { name: `${namespace}-${i}`, namespace },
    spec: { name: `${namespace}-${i}`, type: "api", tier: "standard" },
    status: { phase: "Active", health: { status: health } },
  }));
  return JSON.stringify({ apiVersion: "v1", kind: "List", items });
}

/** Writes `path` aside and renames it, so a poll never reads half a file. */
export async function replaceFile(path: string, text: string): Promise<void> {
  await Deno.writeTextFile(`${path}.part`, text);
  await Deno.rename(`${path}.part`, path);
}

/**
 * A well-behaved client of a `serve --source DIR` server: subscribed to
 * `personas`, it reads every message at once. {@link EventProbe.round}
 * rewrites one file of probe personas so that the source publishes one
 * event per persona, and checks that every one of them arrives, in order,
 * with consecutive offsets.
 */
export class EventProbe {
  /** Events checked so far. */
  checked = 0;
  readonly #client: TestClient;
  readonly #file: string;
  #offset: number;
  #rounds = 0;

  private constructor(client: TestClient, file: string, offset: number) {
    this.#client = client;
    this.#file = file;
    this.#offset = offset;
  }

  /** Connects to `url` and subscribes; events come from files in `dir`. */
  static async start(url: string, dir: string): Promise<EventProbe> {
    const client = await TestClient.connect(url);
    const reply = await client.call("subscribe", "personas");
    if (reply.type !== "response") {
      throw new Error(
        `The probe could not subscribe: ${JSON.stringify(reply)}`,
      );
    }
    return new EventProbe(client, `${dir}/probe.json`, reply.offset as number);
  }

  /** Whether the probe's connection is still open. */
  get open(): boolean {
    return this.#client.socket.readyState === WebSocket.OPEN;
  }

  /**
   * Makes the source publish `count` persona events (all created in the
   * first round, all updated after) and waits for them. Throws unless they
   * arrive with the offsets right after the last ones, in file order.
   */
  async round(count = 20, timeoutMs = 15_000): Promise<void> {
    const created = this.#rounds === 0;
    const health = this.#rounds % 2 === 0 ? "Healthy" : "Degraded";
    this.#rounds++;
    await replaceFile(
      this.#file,
      personaList(count, { namespace: PROBE_NAMESPACE, health }),
    );
    const first = this.#offset + 1;
    const events = await this.#client.waitForCount(
      (m) => m.type === "event" && (m.offset as number) >= first,
      count,
      `${count} probe events from offset ${first}`,
      timeoutMs,
    );
    events.forEach((event, i) => {
      const payload = event.payload ?? {};
      const expected = {
        offset: first + i,
        eventType: created ? "created" : "updated",
        name: `probe-${i}`,
        health,
      };
      const actual = {
        offset: event.offset,
        eventType: payload.eventType,
        name: payload.name,
        health: payload.health,
      };
      if (JSON.stringify(actual) !== JSON.stringify(expected)) {
        throw new Error(
          `Probe event ${i} of round ${this.#rounds}: expected ${
            JSON.stringify(expected)
          }, got ${JSON.stringify(actual)}`,
        );
      }
    });
    this.#offset += count;
    this.checked += count;
    // Only what is still to come is kept, so long runs stay cheap.
    this.#client.received.length = 0;
  }

  /** Closes the probe's connection. */
  async close(): Promise<void> {
    await this.#client.close();
  }
}

/**
 * Writes `request` on a new TCP connection to `port` and reads until the
 * server closes or `timeoutMs` passes. Returns what was read, decoded as
 * Latin-1, and whether the server closed (or reset) the connection.
 */
export async function exchange(
  port: number,
  request: string | Uint8Array,
  options: { timeoutMs?: number } = {},
): Promise<{ response: string; closed: boolean }> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  const bytes = typeof request === "string"
    ? new TextEncoder().encode(request)
    : request;
  try {
    await conn.write(bytes).catch(() => 0);
    const chunks: Uint8Array[] = [];
    const buffer = new Uint8Array(65536);
    const timer = setTimeout(() => {
      try {
        conn.close();
      } catch {
        // Already closed.
      }
    }, options.timeoutMs ?? 5000);
    let closed = false;
    try {
      while (true) {
        const n = await conn.read(buffer);
        if (n === null) {
          closed = true;
          break;
        }
        chunks.push(buffer.slice(0, n));
      }
    } catch (error) {
      // A reset is a close; our own timer's close is not.
      closed = !(error instanceof Deno.errors.BadResource);
    }
    clearTimeout(timer);
    const all = concat(...chunks);
    return { response: new TextDecoder("latin1").decode(all), closed };
  } finally {
    try {
      conn.close();
    } catch {
      // Already closed.
    }
  }
}

/**
 * The value of one sample of the server's `/metrics` on `port`, e.g.
 * `dorgu_ws_connections`; 0 when it is not there.
 */
export async function readMetric(
  port: number,
  sample: string,
): Promise<number> {
  const { response } = await exchange(
    port,
    `GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`,
  );
  const line = response.split("\n").find((l) => l.startsWith(`${sample} `));
  return line === undefined ? 0 : Number(line.slice(sample.length + 1));
}

/** The status code of an HTTP response head, or 0 when there is none. */
export function statusOf(response: string): number {
  const match = /^HTTP\/1\.[01] (\d{3}) /.exec(response);
  return match ? Number(match[1]) : 0;
}

/** What {@link Target.attack} measured. */
export interface AttackReport extends MemoryReport {
  /** Open descriptors of the server before and after. */
  filesBefore: number;
  filesAfter: number;
}

/**
 * A `dorgu-ws serve --source COPY` subprocess under attack, with a probe
 * connected from the start.
 */
export class Target implements AsyncDisposable {
  /** The server process. */
  readonly server: ServerProcess;
  /** Its copy of the example cluster. */
  readonly dir: string;
  /** The well-behaved client. */
  readonly probe: EventProbe;

  private constructor(example: ExampleServer, probe: EventProbe) {
    this.server = example.server;
    this.dir = example.dir;
    this.probe = probe;
  }

  /** Starts the server with `args` and connects the probe. */
  static async start(
    args: string[] = [],
    options: LaunchOptions = {},
  ): Promise<Target> {
    const example = await spawnExample(args, options);
    try {
      const probe = await EventProbe.start(example.url, example.dir);
      await probe.round();
      return new Target(example, probe);
    } catch (error) {
      await example.server.stop();
      throw error;
    }
  }

  /** The server's process id. */
  get pid(): number {
    return this.server.child.pid;
  }

  /** The port it listens on. */
  get port(): number {
    return this.server.port;
  }

  /** `ws://127.0.0.1:PORT/ws`. */
  get url(): string {
    return `ws://127.0.0.1:${this.server.port}/ws`;
  }

  /** The server's RSS now, bytes. */
  rss(): number {
    return rssOf(this.pid);
  }

  /** The server's open descriptors now. */
  files(): number {
    return openFiles(this.pid);
  }

  /** The value of one `/metrics` sample, e.g. `dorgu_ws_connections`. */
  metric(sample: string): Promise<number> {
    return readMetric(this.port, sample);
  }

  /**
   * Waits until a `/metrics` sample reaches `atLeast`; throws, saying
   * `what` did not happen, after `timeoutMs`.
   */
  async waitForMetric(
    sample: string,
    options: { atLeast: number; what: string; timeoutMs?: number },
  ): Promise<void> {
    const deadline = Date.now() + (options.timeoutMs ?? 10_000);
    while (await this.metric(sample) < options.atLeast) {
      if (Date.now() > deadline) throw new Error(`${options.what}.`);
      await sleep(200);
    }
  }

  /** The status of `GET path` on a new connection. */
  async status(path: string): Promise<number> {
    const { response } = await exchange(
      this.port,
      `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`,
    );
    return statusOf(response);
  }

  /**
   * Runs `attack`, sampling RSS, then checks the probe still gets every
   * event and waits (up to `settleMs`) for RSS to come back within
   * `returnBytes` (default 32 MiB) of where it was; throws if it does not.
   * Prints one report line, with the JavaScript heap in use before and
   * after (RSS keeps what the runtime grew; the heap shows what is live).
   */
  async attack(
    name: string,
    attack: () => Promise<void>,
    options: { returnBytes?: number; settleMs?: number } = {},
  ): Promise<AttackReport> {
    const returnBytes = options.returnBytes ?? 32 * 1024 * 1024;
    const heapBefore = await this.metric("dorgu_ws_heap_used_bytes");
    const before = this.rss();
    const filesBefore = this.files();
    const sampler = new RssSampler(this.pid);
    try {
      await attack();
    } finally {
      sampler.stop();
    }
    await this.probe.round();
    const after = await settledRss(this.pid, {
      limit: before + returnBytes,
      timeoutMs: options.settleMs ?? 10_000,
    });
    const heapAfter = await this.metric("dorgu_ws_heap_used_bytes");
    const report = {
      before,
      peak: Math.max(sampler.peak, after),
      after,
      filesBefore,
      filesAfter: this.files(),
    };
    console.log(
      `${name}: RSS ${mib(report.before)} -> peak ${mib(report.peak)} -> ${
        mib(report.after)
      } MiB (heap in use ${mib(heapBefore)} -> ${
        mib(heapAfter)
      }); descriptors ${report.filesBefore} -> ${report.filesAfter}; ${this.probe.checked} probe events in order`,
    );
    if (after > before + returnBytes) {
      throw new Error(
        `${name}: RSS stayed ${
          mib(after - before)
        } MiB above where it was (allowed ${mib(returnBytes)}).`,
      );
    }
    return report;
  }

  /** Closes the probe, stops the server and removes its directory. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.probe.close().catch(() => {});
    await this.server.stop();
    await Deno.remove(this.dir, { recursive: true }).catch(() => {});
  }
}

const encoder = new TextEncoder();

/**
 * `count` requests in one buffer, alternately for `cluster` and
 * `personas`, with request ids `${prefix}0` onwards: a pipeline.
 */
export function pipelinedRequests(count: number, prefix = "p"): Uint8Array {
  return concat(...Array.from({ length: count }, (_, i) =>
    clientFrame(
      OPCODE.text,
      encoder.encode(JSON.stringify({
        type: "request",
        topic: i % 2 ? "personas" : "cluster",
        requestId: `${prefix}${i}`,
      })),
    )));
}

/** `count` pings of the largest allowed payload, in one buffer. */
export function pingBurst(count: number): Uint8Array {
  const ping = clientFrame(OPCODE.ping, new Uint8Array(125));
  return concat(...Array.from({ length: count }, () => ping));
}

/**
 * Opens `count` connections that each send part of a request head and
 * nothing more: slow-loris.
 */
export async function unfinishedRequests(
  port: number,
  count: number,
): Promise<Deno.Conn[]> {
  const partial = encoder.encode("GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n");
  const held: Deno.Conn[] = [];
  for (let i = 0; i < count; i++) {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port });
    await conn.write(partial);
    held.push(conn);
  }
  return held;
}

/** Opens `count` upgraded raw WebSockets, `batch` at a time. */
export async function openSockets(
  port: number,
  count: number,
  batch = 50,
): Promise<RawSocket[]> {
  const sockets: RawSocket[] = [];
  for (let i = 0; i < count; i += batch) {
    const opened = await Promise.all(
      Array.from(
        { length: Math.min(batch, count - i) },
        () => RawSocket.connect(port),
      ),
    );
    for (const { socket, status } of opened) {
      if (status !== 101) {
        throw new Error(`An upgrade got ${status}, not 101.`);
      }
      sockets.push(socket);
    }
  }
  return sockets;
}

function closeFrame(code: number, reason: number[] = []): Uint8Array {
  return clientFrame(
    OPCODE.close,
    new Uint8Array([code >> 8, code & 255, ...reason]),
  );
}

/**
 * Frames that break RFC 6455, each with the close code the server must
 * answer with; the last two are valid closes, echoed.
 */
export const FRAMING_VIOLATIONS: readonly [string, Uint8Array, number][] = [
  [
    "an unmasked frame",
    clientFrame(OPCODE.text, encoder.encode("{}"), { masked: false }),
    1002,
  ],
  [
    "invalid UTF-8",
    clientFrame(OPCODE.text, new Uint8Array([0xc3, 0x28])),
    1007,
  ],
  [
    "UTF-8 cut inside a character at the message's end",
    clientFrame(OPCODE.text, new Uint8Array([0x7b, 0xe2, 0x82])),
    1007,
  ],
  [
    "RSV1 without an extension",
    clientFrame(OPCODE.text, encoder.encode("{}"), { rsv: 4 }),
    1002,
  ],
  ["RSV3", clientFrame(OPCODE.ping, undefined, { rsv: 1 }), 1002],
  ["a 200-byte ping", clientFrame(OPCODE.ping, new Uint8Array(200)), 1002],
  [
    "a fragmented ping",
    clientFrame(OPCODE.ping, undefined, { fin: false }),
    1002,
  ],
  [
    "an orphan continuation",
    clientFrame(OPCODE.continuation, encoder.encode("x")),
    1002,
  ],
  ["opcode 3", clientFrame(0x3, encoder.encode("x")), 1002],
  ["opcode 11", clientFrame(0xb), 1002],
  [
    "a new message inside a fragmented one",
    concat(
      clientFrame(OPCODE.text, encoder.encode("{"), { fin: false }),
      clientFrame(OPCODE.text, encoder.encode("}")),
    ),
    1002,
  ],
  ["close code 1005", closeFrame(1005), 1002],
  ["close code 1006", closeFrame(1006), 1002],
  ["close code 999", closeFrame(999), 1002],
  ["close code 5000", closeFrame(5000), 1002],
  [
    "a one-byte close payload",
    clientFrame(OPCODE.close, new Uint8Array([3])),
    1002,
  ],
  ["a close reason in invalid UTF-8", closeFrame(1000, [0xff]), 1007],
  ["close code 1000", closeFrame(1000), 1000],
  ["close code 4000", closeFrame(4000), 4000],
];
