/**
 * Attacks on a real `dorgu-ws serve --source DIR` process over raw sockets,
 * one test per kind, each with bounded loops. Every test asserts that a
 * well-behaved client (the probe) still receives every event in order with
 * consecutive offsets, that the server's memory comes back, and that its
 * descriptors do. Each prints one line: RSS before, at the peak and after.
 *
 * Timeouts are shortened by flags so that the tests take seconds; the
 * behaviour is the one the defaults give, sooner.
 */
import assert from "node:assert/strict";
import { OPCODE } from "../src/transport/frames.ts";
import {
  exchange,
  FRAMING_VIOLATIONS,
  mib,
  openSockets,
  pingBurst,
  pipelinedRequests,
  sleep,
  statusOf,
  Target,
  unfinishedRequests,
} from "./support/hostile.ts";
import { clientFrame, concat, RawSocket } from "./support/raw_ws.ts";

const MiB = 1024 * 1024;
const encoder = new TextEncoder();

/** A test against a subprocess; sockets outlive a test's checks on purpose. */
function attackTest(name: string, fn: () => Promise<void>): void {
  Deno.test({ name, sanitizeResources: false, sanitizeOps: false, fn });
}

/** Resolves true if the server ends `conn` within `ms` (a reset counts). */
async function endsWithin(conn: Deno.Conn, ms: number): Promise<boolean> {
  const buffer = new Uint8Array(1024);
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    const read = await Promise.race([
      conn.read(buffer).catch(() => null),
      sleep(deadline - Date.now()).then(() => "open" as const),
    ]);
    if (read === null) return true;
    if (read === "open") return false;
  }
  return false;
}

/** The close code a raw socket gets (reading and dropping all else). */
async function closeCode(socket: RawSocket): Promise<number | undefined> {
  const { closeCode } = await socket.drain();
  return closeCode;
}

attackTest(
  "slow-loris: 1,100 unfinished requests under a 1,024-file limit are evicted and timed out",
  async () => {
    await using target = await Target.start(["--header-timeout", "2s"], {
      fileLimit: 1024,
    });
    const held: Deno.Conn[] = [];
    const report = await target.attack(
      "slow-loris, 1,100 sockets",
      async () => {
        held.push(...await unfinishedRequests(target.port, 1100));
        assert.ok(await target.metric("dorgu_ws_http_connections") <= 256);
        const asked = Date.now();
        assert.equal(await target.status("/health"), 200);
        const waited = Date.now() - asked;
        console.log(`  /health answered in ${waited} ms during the flood`);
        assert.ok(waited < 5000);
        await target.probe.round();
        const newcomer = await RawSocket.connect(target.port);
        assert.equal(newcomer.status, 101);
        newcomer.socket.close();
        const ended = await Promise.all(held.map((c) => endsWithin(c, 5000)));
        assert.equal(ended.filter((e) => !e).length, 0, "sockets still held");
      },
    );
    for (const conn of held) conn.close();
    assert.ok(
      await target.metric(
        'dorgu_ws_connections_shed_total{reason="evicted"}',
      ) >=
        800,
    );
    assert.ok(
      await target.metric(
        'dorgu_ws_connections_shed_total{reason="header_timeout"}',
      ) > 0,
    );
    assert.equal(target.server.child.pid, target.pid);
    assert.ok(report.filesAfter <= report.filesBefore + 2);
  },
);

attackTest(
  "a reconnect storm: 1,000 real clients connecting at once all get in, none evicted by the others",
  async () => {
    await using target = await Target.start();
    const sockets: RawSocket[] = [];
    const report = await target.attack("reconnect storm, 1,000", async () => {
      const opened = await Promise.all(
        Array.from({ length: 1000 }, () => RawSocket.connect(target.port)),
      );
      assert.deepEqual(
        opened.filter((o) => o.status !== 101).map((o) => o.status),
        [],
      );
      sockets.push(...opened.map((o) => o.socket));
      assert.equal(await target.metric("dorgu_ws_connections"), 1001);
      await target.probe.round();
      for (const socket of sockets) socket.close();
    }, { returnBytes: 64 * MiB });
    assert.equal(
      await target.metric('dorgu_ws_connections_shed_total{reason="evicted"}'),
      0,
    );
    assert.ok(report.filesAfter <= report.filesBefore + 2);
  },
);

attackTest(
  "a WebSocket flood past a 1,024-file limit: the limit is learned, the newest get 1013, /health and the source keep their descriptors",
  async () => {
    await using target = await Target.start([], { fileLimit: 1024 });
    const sockets: RawSocket[] = [];
    let refused = 0;
    const report = await target.attack("WebSocket flood, 1,100", async () => {
      for (let i = 0; i < 1100; i++) {
        try {
          const { socket, status } = await RawSocket.connect(target.port);
          if (status === 101) sockets.push(socket);
          else {
            refused++;
            socket.close();
          }
        } catch {
          refused++;
        }
      }
      assert.ok(refused > 0, "the flood was never refused");
      // The newest were closed with 1013 at once, without waiting for an
      // echo: /health and the source have room again.
      assert.equal(await target.status("/health"), 200);
      await target.probe.round();
      const notices = target.server.logs.filter((l) =>
        typeof l === "object" && String(l.msg).startsWith("Out of file")
      );
      assert.equal(notices.length, 1);
      const codes = await Promise.all(
        sockets.slice(-20).map((s) => closeCode(s)),
      );
      assert.ok(codes.includes(1013), `close codes ${codes}`);
      for (const socket of sockets) socket.close();
    }, { returnBytes: 48 * MiB });
    assert.ok(report.filesAfter <= report.filesBefore + 2);
    assert.ok(
      await target.metric(
        'dorgu_ws_connections_closed_total{cause="file_limit"}',
      ) > 0,
    );
  },
);

attackTest(
  "fragmented messages that never complete, with pongs, are closed 1008 at the message timeout; each costs under 2 MiB",
  async () => {
    await using target = await Target.start([
      "--message-timeout",
      "3s",
      "--read-timeout",
      "2s",
    ]);
    const count = 16;
    const sockets = await openSockets(target.port, count);
    await sleep(500);
    const idle = target.rss();
    const fragment = new Uint8Array(60 * 1024).fill(0x20);
    const codes: (number | undefined)[] = [];
    const report = await target.attack(
      "never-ending fragments x16",
      async () => {
        await Promise.all(sockets.map(async (socket) => {
          // Answer every ping and send unsolicited pongs while the message
          // grows to just under the 512 KiB limit, then hold it.
          const reading = (async () => {
            while (true) {
              const frame = await socket.readFrame();
              if (frame === null) return undefined;
              if (frame.opcode === OPCODE.ping) {
                await socket.write(clientFrame(OPCODE.pong, frame.payload))
                  .catch(() => {});
              }
              if (frame.opcode === OPCODE.close) {
                return (frame.payload[0] << 8) | frame.payload[1];
              }
            }
          })();
          let closed = false;
          reading.then(() => closed = true);
          await socket.write(
            clientFrame(OPCODE.text, fragment, { fin: false }),
          );
          for (let i = 1; i < 8 && !closed; i++) {
            await socket.write(clientFrame(OPCODE.continuation, fragment, {
              fin: false,
            }));
            await socket.write(clientFrame(OPCODE.pong)).catch(() => {});
            await sleep(100);
          }
          while (!closed) {
            await socket.write(clientFrame(OPCODE.pong)).catch(() => {});
            await sleep(250);
          }
          codes.push(await reading);
        }));
      },
    );
    for (const socket of sockets) socket.close();
    assert.deepEqual(codes, Array(count).fill(1008));
    const perConnection = (report.peak - idle) / count;
    console.log(`  each: ${mib(perConnection)} MiB above an idle connection`);
    assert.ok(perConnection < 2 * MiB, `${mib(perConnection)} MiB each`);
    assert.ok(
      await target.metric(
        'dorgu_ws_connections_closed_total{cause="message_timeout"}',
      ) === count,
    );
    assert.ok(report.filesAfter <= report.filesBefore + 2);
  },
);

attackTest(
  "frame headers that promise huge payloads are refused at the header, before any payload",
  async () => {
    await using target = await Target.start();
    const cases: [string, Uint8Array, number][] = [
      [
        "a text frame of 2^63 - 1 bytes",
        clientFrame(OPCODE.text, undefined, { declaredLength: 2n ** 63n - 1n }),
        1009,
      ],
      [
        "a length with the high bit set",
        clientFrame(OPCODE.text, undefined, { declaredLength: 2n ** 64n - 1n }),
        1002,
      ],
      [
        "a binary frame of 4 GiB",
        clientFrame(OPCODE.binary, undefined, { declaredLength: 2n ** 32n }),
        1009,
      ],
      [
        "a text frame of 513 KiB",
        clientFrame(OPCODE.text, undefined, { declaredLength: 513n * 1024n }),
        1009,
      ],
      [
        "fragments summing past 512 KiB",
        new Uint8Array([
          ...clientFrame(OPCODE.text, new Uint8Array(300 * 1024).fill(0x20), {
            fin: false,
          }),
          ...clientFrame(OPCODE.continuation, undefined, {
            declaredLength: 300n * 1024n,
          }),
        ]),
        1009,
      ],
      [
        "a ping of 2^40 bytes",
        clientFrame(OPCODE.ping, undefined, { declaredLength: 2n ** 40n }),
        1002,
      ],
    ];
    await target.attack("huge frame headers x600", async () => {
      for (let round = 0; round < 100; round++) {
        await Promise.all(cases.map(async ([what, bytes, code]) => {
          const { socket } = await RawSocket.connect(target.port);
          await socket.write(bytes);
          assert.equal(await closeCode(socket), code, what);
          socket.close();
        }));
      }
    }, { returnBytes: 48 * MiB });
    assert.equal(
      await target.metric(
        'dorgu_ws_connections_closed_total{cause="message_too_big"}',
      ),
      400,
    );
  },
);

attackTest(
  "1-byte fragments: a message of 100,000 fragments is answered; one past the limit is closed 1009",
  async () => {
    await using target = await Target.start();
    const fragmented = (text: string) => {
      const bytes = encoder.encode(text);
      const frames = new Uint8Array(bytes.length * 7);
      for (let i = 0; i < bytes.length; i++) {
        frames.set(
          clientFrame(
            i === 0 ? OPCODE.text : OPCODE.continuation,
            bytes.subarray(i, i + 1),
            { fin: i === bytes.length - 1 },
          ),
          i * 7,
        );
      }
      return frames;
    };
    const request = JSON.stringify({
      type: "request",
      topic: "cluster",
      requestId: "tiny",
    });
    await target.attack("1-byte fragments", async () => {
      const { socket } = await RawSocket.connect(target.port);
      await socket.write(fragmented(request + " ".repeat(100_000)));
      const reply = await socket.readJson();
      assert.equal(reply?.requestId, "tiny");
      assert.equal(reply?.type, "response");
      // Past 512 KiB, one byte at a time: refused at the fragment that
      // crosses the limit.
      await socket.write(fragmented(" ".repeat(512 * 1024 + 1)));
      assert.equal(await closeCode(socket), 1009);
      socket.close();
    });
  },
);

/** Kubernetes Events as a List, each with a message of `size` characters. */
function eventList(from: number, count: number, size: number): string {
  const items = Array.from({ length: count }, (_, i) => ({
    apiVersion: "v1",
    kind: "Event",
    metadata: { name: `flood-${from + i}`, namespace: "flood" },
    type: "Normal",
    reason: "Flood",
    message: `${from + i} `.padEnd(size, "x"),
    involvedObject: { kind: "Pod", namespace: "flood", name: "p" },
    count: 1,
    lastTimestamp: "2026-03-23T10:00:00Z",
  }));
  return JSON.stringify({ apiVersion: "v1", kind: "List", items });
}

attackTest(
  "a client that never reads, asking 40 times for 10,000 events: paused, closed 1008, its queue released while it stays",
  async () => {
    await using target = await Target.start([
      "--history-size",
      "10000",
      "--write-timeout",
      "2s",
    ]);
    for (let part = 0; part < 2; part++) {
      await Deno.writeTextFile(
        `${target.dir}/flood-${part}.json`,
        eventList(part * 5000, 5000, 400),
      );
    }
    // The events log fills: 10,000 events, each frame about 700 bytes.
    const watcher = await RawSocket.connect(target.port);
    await watcher.socket.sendText(JSON.stringify({
      type: "request",
      topic: "events",
      requestId: "size",
      payload: { limit: 10000 },
    }));
    let size = 0;
    for (let tries = 0; tries < 50; tries++) {
      const frame = await watcher.socket.readMessage();
      const reply = JSON.parse(new TextDecoder().decode(frame?.payload));
      if (reply.payload.events.length >= 10000) {
        size = frame?.payload.length ?? 0;
        break;
      }
      await sleep(200);
      await watcher.socket.sendText(JSON.stringify({
        type: "request",
        topic: "events",
        requestId: "size",
        payload: { limit: 10000 },
      }));
    }
    watcher.socket.close();
    assert.ok(size > 4 * MiB, `a reply of ${size} bytes`);
    const { socket: stalled } = await RawSocket.connect(target.port);
    const requests = Array.from({ length: 40 }, (_, i) =>
      clientFrame(
        OPCODE.text,
        encoder.encode(JSON.stringify({
          type: "request",
          topic: "events",
          requestId: `r${i}`,
          payload: { limit: 10000 },
        })),
      ));
    let peakWhileStalled = 0;
    const report = await target.attack(
      "never-reading, 40 x 10,000 events",
      async () => {
        await stalled.write(concat(...requests));
        await target.waitForMetric(
          'dorgu_ws_connections_closed_total{cause="write_timeout"}',
          { atLeast: 1, what: "The stalled client was not closed" },
        );
        // Still connected and still not reading: what was queued for it is
        // gone once the closing grace ends.
        await sleep(2500);
        assert.equal(await target.metric("dorgu_ws_connections"), 1);
        assert.ok(await target.metric("dorgu_ws_send_queue_bytes") < 128);
        peakWhileStalled = target.rss();
      },
      // Each answer is built as 5.5 MB of JSON and its frame: garbage the
      // runtime hands back lazily, later still when the machine is busy.
      // The queue gauge above is the exact check.
      { returnBytes: 64 * MiB, settleMs: 30_000 },
    );
    console.log(`  while it stays: ${mib(peakWhileStalled)} MiB`);
    const { texts, closeCode: code } = await stalled.drain();
    stalled.close();
    // What the network held, then (unless the connection was cut at the
    // end of the grace) the close.
    assert.ok(texts.length < 40, `${texts.length} replies arrived`);
    assert.ok(code === undefined || code === 1008);
    assert.ok(report.peak - report.before < 128 * MiB);
    // RSS is only a proxy for this (the runtime returns garbage lazily);
    // the queue gauge above is the exact check.
    assert.ok(peakWhileStalled - report.before < 96 * MiB);
  },
);

attackTest(
  "a subscriber that reads steadily, slower than its stream, gets drops, not a write-timeout close",
  async () => {
    await using target = await Target.start(["--write-timeout", "3s"]);
    const { socket } = await RawSocket.connect(target.port);
    await socket.sendText(
      JSON.stringify({ type: "subscribe", topic: "events", requestId: "s" }),
    );
    // 100 KB/s, answering pings as any WebSocket client does, while the
    // stream runs at about 2.5 MB/s: the kernel's buffers fill, and the
    // server hears of the reader's progress only through its pongs.
    let reading = true;
    let bytes = 0;
    let closed: number | undefined;
    let pings = 0;
    const reader = (async () => {
      const started = Date.now();
      while (reading) {
        const frame = await socket.readFrame(4096);
        if (frame === null) return;
        bytes += frame.payload.length + 2;
        if (frame.opcode === OPCODE.ping) {
          pings++;
          await socket.write(clientFrame(OPCODE.pong, frame.payload));
        } else if (frame.opcode === OPCODE.close) {
          closed = (frame.payload[0] << 8) | frame.payload[1];
          return;
        }
        const due = started + bytes / 100;
        if (due > Date.now()) await sleep(due - Date.now());
      }
    })();
    await target.attack("a slow, steady reader of 2.5 MB/s", async () => {
      for (let round = 0; round < 40 && closed === undefined; round++) {
        await Deno.writeTextFile(
          `${target.dir}/flood.json`,
          eventList(round * 2000, 2000, 300),
        );
        await sleep(300);
      }
    }, { returnBytes: 160 * MiB });
    reading = false;
    socket.close();
    await reader;
    console.log(`  read ${bytes} bytes, answered ${pings} pings`);
    assert.equal(closed, undefined, `closed with ${closed}`);
    assert.ok(bytes > 500_000, `only ${bytes} bytes read`);
    assert.ok(
      await target.metric('dorgu_ws_messages_dropped_total{topic="events"}') >
        0,
    );
    assert.equal(
      await target.metric(
        'dorgu_ws_connections_closed_total{cause="write_timeout"}',
      ),
      0,
    );
  },
);

attackTest(
  "5,000 pipelined requests in one write from a client that reads: every one answered, in order, the connection kept",
  async () => {
    await using target = await Target.start();
    const { socket } = await RawSocket.connect(target.port);
    const total = 5000;
    const burst = pipelinedRequests(total);
    const replies: { type: string; requestId: string; code?: string }[] = [];
    await target.attack("5,000 pipelined requests", async () => {
      await socket.write(burst);
      while (replies.length < total) {
        const reply = await socket.readJson();
        assert.ok(
          reply,
          `the connection ended after ${replies.length} replies`,
        );
        replies.push({
          type: reply.type,
          requestId: reply.requestId as string,
          code: reply.payload?.code,
        });
      }
    });
    assert.deepEqual(
      replies.map((r) => r.requestId),
      Array.from({ length: total }, (_, i) => `p${i}`),
    );
    for (const reply of replies) {
      assert.ok(
        reply.type === "response" || reply.code === "rate_limited",
        JSON.stringify(reply),
      );
    }
    const answered = replies.filter((r) => r.type === "response").length;
    console.log(`  ${answered} responses, ${total - answered} rate_limited`);
    assert.ok(answered >= 50);
    // Still open: after the bucket refills, a request is answered.
    await sleep(200);
    await socket.sendText(
      JSON.stringify({ type: "request", topic: "cluster", requestId: "after" }),
    );
    assert.equal((await socket.readJson())?.type, "response");
    socket.close();
  },
);

attackTest(
  "framing violations get their RFC 6455 close code, delivered before the connection ends",
  async () => {
    await using target = await Target.start();
    // Garbage after the violation: the server must not reset the connection
    // (which would destroy its close frame) because bytes were left unread.
    const garbage = new Uint8Array(256 * 1024).fill(0x81);
    await target.attack("framing violations x190", async () => {
      for (let round = 0; round < 10; round++) {
        await Promise.all(
          FRAMING_VIOLATIONS.map(async ([what, bytes, code]) => {
            const { socket } = await RawSocket.connect(target.port);
            await socket.write(bytes);
            const writing = socket.write(garbage).catch(() => {});
            assert.equal(await closeCode(socket), code, what);
            await writing;
            socket.close();
          }),
        );
      }
    });
    // A UTF-8 character split across fragments is fine.
    const { socket } = await RawSocket.connect(target.port);
    const message = encoder.encode(
      JSON.stringify({
        type: "request",
        topic: "cluster",
        requestId: "\u00e9",
      }),
    );
    const cut = message.indexOf(0xc3) + 1;
    await socket.write(
      new Uint8Array([
        ...clientFrame(OPCODE.text, message.subarray(0, cut), { fin: false }),
        ...clientFrame(OPCODE.continuation, message.subarray(cut)),
      ]),
    );
    assert.equal((await socket.readJson())?.requestId, "\u00e9");
    socket.close();
  },
);

attackTest(
  "DNS rebinding and path confusion: a foreign Host gets 421 on every path, only the server's own names are same-origin, and a target whose normal form differs gets 400",
  async () => {
    await using target = await Target.start([
      "--allowed-hosts",
      "dorgu.example",
    ]);
    const port = target.port;
    const upgrade = (host: string | undefined, origin?: string) => {
      const headers: Record<string, string> = origin ? { origin } : {};
      return RawSocket.connect(port, {
        headers: host === undefined ? headers : { ...headers, host },
      }).then(({ socket, status }) => {
        socket.close();
        return status;
      });
    };
    const cases: [string | undefined, string | undefined, number][] = [
      [`evil.example:${port}`, `http://evil.example:${port}`, 421],
      [`evil.example:${port}`, undefined, 421],
      [`EVIL.example.:${port}`, `http://evil.example:${port}`, 421],
      [
        `localhost.evil.example:${port}`,
        `http://localhost.evil.example:${port}`,
        421,
      ],
      [`127.0.0.1.nip.io:${port}`, `http://127.0.0.1.nip.io:${port}`, 421],
      [`localhost@evil.example:${port}`, undefined, 421],
      ["", undefined, 421],
      [`127.0.0.1:${port}`, `http://evil.example:${port}`, 403],
      [`127.0.0.1:${port}`, "null", 403],
      [`dorgu.example:${port}`, `http://evil.example:${port}`, 403],
      [`localhost:${port}`, `http://localhost:${port}`, 101],
      [`127.0.0.1:${port}`, `http://127.0.0.1:${port}`, 101],
      [`[::1]:${port}`, `http://[::1]:${port}`, 101],
      [`dorgu.example:${port}`, `http://dorgu.example:${port}`, 101],
      [`DORGU.EXAMPLE.:${port}`, undefined, 101],
    ];
    await target.attack("DNS rebinding", async () => {
      for (const [host, origin, status] of cases) {
        assert.equal(await upgrade(host, origin), status, `${host} ${origin}`);
      }
      for (const path of ["/metrics", "/ready", "/health", "/version", "/"]) {
        const { response } = await exchange(
          port,
          `GET ${path} HTTP/1.1\r\nHost: evil.example:${port}\r\nConnection: close\r\n\r\n`,
        );
        assert.equal(statusOf(response), 421, path);
        assert.match(response, /--allowed-hosts/);
      }
      const twoHosts = await exchange(
        port,
        `GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nHost: evil.example\r\n\r\n`,
      );
      assert.equal(statusOf(twoHosts.response), 400);
      const absolute = await exchange(
        port,
        `GET http://evil.example/metrics HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`,
      );
      assert.equal(statusOf(absolute.response), 400);
      // Targets whose normal form is another path: a proxy in front that
      // guards /metrics, or forwards only /ws, would be bypassed.
      for (
        const path of [
          "//evil.example/metrics",
          "/ws/../metrics",
          "/ws/%2e%2e/metrics",
          "/./metrics",
          "/ws/..",
        ]
      ) {
        const { response } = await exchange(
          port,
          `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`,
        );
        assert.equal(statusOf(response), 400, path);
      }
    });
    assert.ok(
      await target.metric('dorgu_ws_http_refused_total{reason="host"}') >= 12,
    );
  },
);

attackTest(
  "header floods: too many, too large, folded, bare LF, control bytes; 256 half-sent 15 KiB heads stay bounded",
  async () => {
    await using target = await Target.start(["--header-timeout", "2s"]);
    const port = target.port;
    const head = (lines: string) =>
      `GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n${lines}\r\n`;
    const cases: [string, string, number][] = [
      [
        "101 header fields",
        head(Array.from({ length: 101 }, (_, i) => `x-${i}: y\r\n`).join("")),
        431,
      ],
      ["a 20 KiB header", head(`x-big: ${"y".repeat(20 * 1024)}\r\n`), 431],
      ["a folded line", head("x-a: b\r\n  folded\r\n"), 400],
      ["bare LF", "GET /health HTTP/1.1\nHost: 127.0.0.1\n\n", 400],
      ["bare LF after a CRLF line", head("x-a: b\nx-c: d\r\n"), 400],
      ["a NUL in a value", head("x-a: b\0c\r\n"), 400],
      ["a space before the colon", head("x-a : b\r\n"), 400],
      ["a header without a colon", head("x-a b\r\n"), 400],
      ["a request line of three spaces", "GET  /health HTTP/1.1\r\n\r\n", 400],
      ["HTTP/0.9", "GET /health\r\n\r\n", 400],
    ];
    const held: Deno.Conn[] = [];
    await target.attack("header floods", async () => {
      for (const [what, request, status] of cases) {
        const { response, closed } = await exchange(port, request);
        assert.equal(statusOf(response), status, what);
        assert.ok(closed, `${what}: the connection stayed open`);
      }
      for (let i = 0; i < 256; i++) {
        const conn = await Deno.connect({ hostname: "127.0.0.1", port });
        await conn.write(
          encoder.encode(
            head(`x-pad: ${"y".repeat(15 * 1024)}\r\n`).slice(0, -4),
          ),
        );
        held.push(conn);
      }
      await target.probe.round();
      const ended = await Promise.all(held.map((c) => endsWithin(c, 5000)));
      assert.equal(ended.filter((e) => !e).length, 0);
    });
    for (const conn of held) conn.close();
  },
);

attackTest(
  "request smuggling shapes are refused with 400 and the connection closed; nothing after them is served",
  async () => {
    await using target = await Target.start();
    const port = target.port;
    const smuggled = "GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
    const cases: [string, string][] = [
      [
        "Content-Length and Transfer-Encoding",
        `POST /health HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n${smuggled}`,
      ],
      [
        "Transfer-Encoding: chunked",
        `GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n${smuggled}`,
      ],
      [
        "a body with Content-Length",
        `GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: ${smuggled.length}\r\n\r\n${smuggled}`,
      ],
      [
        "two Content-Lengths",
        `GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 0\r\nContent-Length: 44\r\n\r\n${smuggled}`,
      ],
      [
        "Transfer-Encoding with odd case and a tab",
        `GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\ntRANSFER-eNCODING:\tchunked\r\n\r\n0\r\n\r\n${smuggled}`,
      ],
      [
        "a large body",
        `POST /health HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 262144\r\n\r\n${
          "x".repeat(262144)
        }`,
      ],
    ];
    await target.attack("smuggling shapes", async () => {
      for (const [what, request] of cases) {
        const { response, closed } = await exchange(port, request);
        assert.equal(statusOf(response), 400, what);
        assert.equal(response.match(/HTTP\/1\.1 /g)?.length, 1, what);
        assert.ok(closed, what);
      }
    });
  },
);

attackTest(
  "an HTTP/2 preface and a TLS hello on the plain port are refused at once",
  async () => {
    await using target = await Target.start(["--header-timeout", "10s"]);
    const hello = new Uint8Array([
      0x16,
      0x03,
      0x01,
      0x00,
      0xa5,
      0x01,
      0x00,
      0x00,
      0xa1,
      0x03,
      0x03,
      ...crypto.getRandomValues(new Uint8Array(32)),
    ]);
    await target.attack("HTTP/2 preface, TLS hello x200", async () => {
      for (let i = 0; i < 100; i++) {
        const started = Date.now();
        const h2 = await exchange(
          target.port,
          "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
        );
        assert.equal(statusOf(h2.response), 505);
        const tls = await exchange(target.port, hello);
        assert.equal(statusOf(tls.response), 400);
        assert.ok(h2.closed && tls.closed);
        assert.ok(Date.now() - started < 2000, "waited for the header timeout");
      }
    });
  },
);

attackTest(
  "slow readers of /metrics: pipelined requests never read are cut at the write timeout, single ones at the header timeout",
  async () => {
    await using target = await Target.start([
      "--write-timeout",
      "2s",
      "--header-timeout",
      "2s",
    ]);
    const request = "GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
    const held: Deno.Conn[] = [];
    const connect = () =>
      Deno.connect({ hostname: "127.0.0.1", port: target.port });
    await target.attack("slow-read /metrics, 5 x 3,000 + 100 x 1", async () => {
      // About 28 MB of responses each: more than the socket buffers hold,
      // so the server's write stalls. Each response costs a render (about
      // half a millisecond): the pipeline is bounded by those buffers.
      for (let i = 0; i < 5; i++) {
        const conn = await connect();
        conn.write(encoder.encode(request.repeat(3000))).catch(() => {});
        held.push(conn);
      }
      // One response each fits the buffers: these wait for their next
      // request as idle keep-alive connections.
      for (let i = 0; i < 100; i++) {
        const conn = await connect();
        await conn.write(encoder.encode(request));
        held.push(conn);
      }
      await target.probe.round();
      assert.equal(await target.status("/health"), 200);
      // Not read from until they are cut: reading would make them readers.
      await target.waitForMetric(
        'dorgu_ws_connections_shed_total{reason="write_timeout"}',
        { atLeast: 5, what: "The stalled writes were not cut" },
      );
      const ended = await Promise.all(held.map((c) => endsWithin(c, 5000)));
      assert.equal(ended.filter((e) => !e).length, 0, "still held");
    }, { returnBytes: 96 * MiB });
    for (const conn of held) conn.close();
    assert.ok(
      await target.metric(
        'dorgu_ws_connections_shed_total{reason="header_timeout"}',
      ) >= 100,
    );
  },
);

attackTest(
  "ping floods: 10,000 pings per write from readers and non-readers cost other clients nothing",
  async () => {
    await using target = await Target.start(["--write-timeout", "2s"]);
    const flood = pingBurst(10_000);
    const readers = await openSockets(target.port, 10);
    const deaf = await openSockets(target.port, 10);
    let pongs = 0;
    await target.attack("ping floods, 20 x 100,000", async () => {
      const reading = readers.map(async (socket) => {
        while (true) {
          const frame = await socket.readFrame();
          if (frame === null || frame.opcode === OPCODE.close) return;
          if (frame.opcode === OPCODE.pong) pongs++;
        }
      });
      for (let i = 0; i < 10; i++) {
        await Promise.all(
          [...readers, ...deaf].map((s) => s.write(flood).catch(() => {})),
        );
        if (i === 5) await target.probe.round();
      }
      await target.probe.round();
      for (const socket of [...readers, ...deaf]) socket.close();
      await Promise.all(reading);
    }, { returnBytes: 64 * MiB });
    console.log(`  ${pongs} pongs to the readers`);
    assert.ok(pongs > 0);
  },
);

attackTest(
  "connection churn: 2,000 upgrades, subscriptions and closes, half of them resets, leave nothing behind",
  async () => {
    await using target = await Target.start();
    const subscribe = encoder.encode(
      JSON.stringify({ type: "subscribe", topic: "personas", requestId: "s" }),
    );
    const report = await target.attack("connection churn x2,000", async () => {
      for (let round = 0; round < 40; round++) {
        await Promise.all(Array.from({ length: 50 }, async (_, i) => {
          const { socket } = await RawSocket.connect(target.port);
          await socket.sendFrame(OPCODE.text, subscribe);
          await socket.readMessage();
          if (i % 2 === 0) {
            await socket.write(
              clientFrame(OPCODE.close, new Uint8Array([0x03, 0xe8])),
            );
            assert.equal(await closeCode(socket), 1000);
          }
          socket.close();
        }));
        if (round % 10 === 0) await target.probe.round();
      }
      const deadline = Date.now() + 5000;
      while (await target.metric("dorgu_ws_connections") > 1) {
        assert.ok(Date.now() < deadline, "connections left open");
        await sleep(100);
      }
    }, { returnBytes: 64 * MiB });
    assert.equal(
      await target.metric('dorgu_ws_subscriptions{topic="personas"}'),
      1,
    );
    assert.ok(report.filesAfter <= report.filesBefore + 2);
  },
);
