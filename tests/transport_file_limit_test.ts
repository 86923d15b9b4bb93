/**
 * The open-file limit, without exhausting the machine's: what the limit
 * allows, read from /proc text or learned from EMFILE, and the connection
 * manager on a fake listener that runs out of descriptors on cue.
 */
import assert from "node:assert/strict";
import { createLogger } from "../src/log.ts";
import {
  connectionsAllowedByFileLimit,
  FileLimit,
  outOfFiles,
} from "../src/transport/file_limit.ts";
import { HttpServer } from "../src/transport/http_server.ts";
import { closeCodeOf, FakeConn, settle } from "./support/fake_conn.ts";
import { LIMITS } from "./support/fake_socket.ts";

Deno.test("file limit: read from /proc/self/limits, less a reserve; unknown or unlimited is no limit", () => {
  const limits = (soft: string) =>
    `Limit                     Soft Limit           Hard Limit           Units\nMax open files            ${soft}                 524288               files\n`;
  assert.equal(connectionsAllowedByFileLimit(limits("1024")), 960);
  assert.equal(connectionsAllowedByFileLimit(limits("10")), 1);
  assert.equal(connectionsAllowedByFileLimit(limits("unlimited")), undefined);
  assert.equal(connectionsAllowedByFileLimit(""), undefined);
});

Deno.test("file limit: WebSockets leave a share for plain requests; EMFILE teaches the limit once, and only downwards", () => {
  const unknown = new FileLimit();
  assert.equal(unknown.full(1_000_000), false);
  assert.equal(unknown.webSockets(10_000), 10_000);
  assert.equal(unknown.learn(64), undefined, "too few open to be the cause");
  assert.equal(unknown.learn(1000), 936);
  assert.equal(unknown.learn(2000), undefined, "never raised");
  assert.equal(unknown.learn(500), 436);
  assert.equal(unknown.webSockets(10_000), 404);
  assert.ok(unknown.full(436) && !unknown.full(435));
  assert.equal(new FileLimit(10).webSockets(10_000), 1);
  const emfile = Object.assign(new Error("Too many open files"), {
    code: "EMFILE",
  });
  assert.ok(outOfFiles(emfile));
  assert.ok(!outOfFiles(new Error("other")));
});

/** A listener whose accepts the test hands out, or fails with EMFILE. */
class FakeListener {
  readonly addr: Deno.NetAddr = {
    transport: "tcp",
    hostname: "127.0.0.1",
    port: 9090,
  };
  #waiting: ((result: FakeConn | Error) => void) | undefined;
  #queue: (FakeConn | Error)[] = [];

  get listener(): Deno.Listener {
    return this as unknown as Deno.Listener;
  }

  arrive(item: FakeConn | Error): void {
    const waiting = this.#waiting;
    this.#waiting = undefined;
    if (waiting) waiting(item);
    else this.#queue.push(item);
  }

  accept(): Promise<FakeConn> {
    const next = this.#queue.shift();
    const settleWith = (item: FakeConn | Error) =>
      item instanceof Error ? Promise.reject(item) : Promise.resolve(item);
    if (next) return settleWith(next);
    return new Promise((resolve, reject) => {
      this.#waiting = (item) =>
        item instanceof Error ? reject(item) : resolve(item);
    });
  }

  close(): void {
    this.arrive(new Deno.errors.BadResource());
  }
}

function upgradeRequest(): Uint8Array {
  return new TextEncoder().encode(
    "GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
  );
}

function managerOn(listener: FakeListener, maxFiles?: number): HttpServer {
  return new HttpServer(listener.listener, {
    handler: (_request, info) => info.upgrade().response,
    limits: {
      maxWebSockets: 10_000,
      maxHttp: 256,
      headerTimeoutMs: 10_000,
      writeTimeoutMs: 10_000,
      maxHeadBytes: 16_384,
      maxFiles,
    },
    websocket: LIMITS,
    log: createLogger({ write: () => {} }),
  });
}

Deno.test("file limit: connections past a known limit are closed as they arrive", async () => {
  const listener = new FakeListener();
  const server = managerOn(listener, 3);
  const conns = Array.from({ length: 4 }, () => new FakeConn());
  for (const conn of conns) listener.arrive(conn);
  await settle();
  assert.deepEqual(conns.map((c) => c.closed), [false, false, false, true]);
  assert.equal(server.counters.shed.get("file_limit"), 1);
  await server.shutdown(0, "done");
});

Deno.test("file limit: EMFILE on accept is survived, the limit learned, and the newest WebSockets past it closed with 1013", async () => {
  const listener = new FakeListener();
  const server = managerOn(listener);
  const sockets = Array.from({ length: 100 }, () => new FakeConn());
  for (const conn of sockets) {
    conn.send(upgradeRequest());
    listener.arrive(conn);
  }
  await settle(20);
  assert.equal(server.webSockets.size, 100);
  listener.arrive(
    Object.assign(new Error("Too many open files (os error 24)"), {
      code: "EMFILE",
    }),
  );
  await settle(20);
  // 100 open when descriptors ran out: 36 client connections from now on,
  // 32 of them kept for plain requests, so 4 WebSockets.
  const closed = sockets.filter((c) =>
    closeCodeOf(c.frames({ afterHead: true }).find((f) => f.opcode === 0x8)) ===
      1013
  );
  assert.equal(closed.length, 96);
  assert.ok(sockets.slice(0, 4).every((c) => !c.closed), "the oldest stay");
  // It goes on accepting after the 100 ms pause, within the limit.
  await new Promise((resolve) => setTimeout(resolve, 150));
  const late = new FakeConn();
  late.send(upgradeRequest());
  listener.arrive(late);
  await settle(20);
  assert.match(new TextDecoder().decode(late.written), /^HTTP\/1\.1 503 /);
  await server.shutdown(0, "done");
});
