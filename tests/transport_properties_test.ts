/**
 * Properties of the transport's parsers, checked with fast-check on
 * generated input: any split of a valid byte stream (frames, an HTTP head)
 * parses to what the whole does; arbitrary bytes never throw out of a
 * parser, never hang it, and never make it hold more than its limits; the
 * UTF-8 check agrees with the platform's decoder and fails at the first
 * byte the decoder could not continue; whatever the order of events, a
 * connection's owner is told once, before it ends.
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import { FrameReader, type Inbound } from "../src/transport/frame_reader.ts";
import { encodeFrame, joinFrames, OPCODE } from "../src/transport/frames.ts";
import { HttpError, parseRequestHead } from "../src/transport/http1.ts";
import { Lifecycle } from "../src/transport/lifecycle.ts";
import {
  checkUtf8,
  UTF8_COMPLETE,
  UTF8_INVALID,
} from "../src/transport/utf8.ts";

const RUNS = { numRuns: 200 };
const encoder = new TextEncoder();

/** Cuts `bytes` at `cuts` (positions taken modulo its length). */
function split(bytes: Uint8Array, cuts: number[]): Uint8Array[] {
  const at = [...new Set(cuts.map((c) => c % (bytes.length + 1)))]
    .sort((a, b) => a - b);
  const chunks: Uint8Array[] = [];
  let from = 0;
  for (const to of [...at, bytes.length]) {
    chunks.push(bytes.subarray(from, to));
    from = to;
  }
  return chunks;
}

/** Feeds chunks as reads; collects items; tracks the most held. */
function readAll(reader: FrameReader, chunks: Uint8Array[]) {
  const items: Inbound[] = [];
  let held = 0;
  const drain = () => {
    let item;
    // Each item consumes bytes, so this ends; bounded all the same.
    for (let i = 0; i < 1_000_000 && (item = reader.next()) !== null; i++) {
      items.push(
        item.kind === "ping" || item.kind === "pong"
          ? { ...item, payload: item.payload.slice() }
          : item,
      );
    }
  };
  for (const chunk of chunks) {
    let at = 0;
    while (at < chunk.length && !reader.failed) {
      drain();
      const space = reader.space();
      const n = Math.min(space.length, chunk.length - at);
      space.set(chunk.subarray(at, at + n));
      reader.commit(n);
      at += n;
      held = Math.max(held, reader.heldBytes);
    }
  }
  drain();
  return { items, held };
}

// A message as a client sends it: text cut into fragments, pings between.
const messageArb = fc.record({
  text: fc.string({ unit: "binary", maxLength: 300, size: "medium" }),
  cuts: fc.array(fc.nat(), { maxLength: 4 }),
  ping: fc.option(fc.uint8Array({ maxLength: 125 })),
  mask: fc.uint8Array({ minLength: 4, maxLength: 4 }),
});

type Message = typeof messageArb extends fc.Arbitrary<infer T> ? T : never;

function encodeMessage(m: Message): Uint8Array {
  const parts = split(encoder.encode(m.text), m.cuts);
  const frames = parts.map((part, i) =>
    encodeFrame(i === 0 ? OPCODE.text : OPCODE.continuation, part, {
      mask: m.mask,
      fin: i === parts.length - 1,
    })
  );
  if (m.ping) {
    frames.splice(
      1,
      0,
      encodeFrame(OPCODE.ping, m.ping, { mask: m.mask }),
    );
  }
  return joinFrames(frames);
}

Deno.test("properties: any split of a valid frame stream parses to what the whole does", () => {
  fc.assert(
    fc.property(
      fc.array(messageArb, { minLength: 1, maxLength: 6 }),
      fc.array(fc.nat(), { maxLength: 20 }),
      (messages, cuts) => {
        const stream = joinFrames(messages.map(encodeMessage));
        const whole = readAll(
          new FrameReader({ maxMessageBytes: 1 << 20 }),
          [stream],
        );
        const pieces = readAll(
          new FrameReader({ maxMessageBytes: 1 << 20 }),
          split(stream, cuts),
        );
        assert.deepEqual(pieces.items, whole.items);
        const texts = whole.items.filter((i) => i.kind === "text")
          .map((i) => (i as { text: string }).text);
        assert.deepEqual(
          texts,
          messages.map((m) => new TextDecoder().decode(encoder.encode(m.text))),
        );
      },
    ),
    RUNS,
  );
});

Deno.test("properties: arbitrary bytes never throw out of the frame reader, never hang it, never make it hold past its limits", () => {
  const max = 4096;
  fc.assert(
    fc.property(
      fc.uint8Array({ maxLength: 20_000, size: "max" }),
      fc.array(fc.nat(), { maxLength: 50, size: "max" }),
      fc.boolean(),
      (bytes, cuts, masked) => {
        // Half the runs look like client frames, so parsing goes deeper.
        if (masked && bytes.length > 1) bytes[1] |= 0x80;
        const reader = new FrameReader({
          maxMessageBytes: max,
          maxMessageFrames: 64,
          keepBinary: true,
        });
        const { items, held } = readAll(reader, split(bytes, cuts));
        assert.ok(held <= 4096 + max, `held ${held}`);
        const violations = items.filter((i) => i.kind === "violation");
        assert.ok(violations.length <= 1);
        if (violations.length) assert.equal(items.at(-1)?.kind, "violation");
      },
    ),
    RUNS,
  );
});

const HEAD =
  "GET /ws?since=1 HTTP/1.1\r\nHost: example.com:9090\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n";

Deno.test("properties: an HTTP head read in any pieces parses to what the whole does", () => {
  const whole = encoder.encode(HEAD);
  const expected = parseRequestHead(whole, {
    end: whole.length,
    maxBytes: 16_384,
  });
  fc.assert(
    fc.property(fc.array(fc.nat(), { maxLength: 30 }), (cuts) => {
      const buffer = new Uint8Array(whole.length);
      let end = 0;
      let head = null;
      for (const piece of split(whole, cuts)) {
        buffer.set(piece, end);
        end += piece.length;
        head = parseRequestHead(buffer, { end, maxBytes: 16_384 });
        if (end < whole.length) assert.equal(head, null);
      }
      assert.deepEqual(head, expected);
    }),
    RUNS,
  );
});

Deno.test("properties: arbitrary bytes get a head, null or an HttpError from the parser, and nothing past its limit is held", () => {
  const maxBytes = 1024;
  const printable = fc.string({
    unit: "binary-ascii",
    maxLength: 1500,
    size: "max",
  });
  fc.assert(
    fc.property(
      fc.oneof(
        fc.uint8Array({ maxLength: 1500, size: "max" }),
        printable.map((s) => encoder.encode(`GET / HTTP/1.1\r\n${s}`)),
      ),
      (bytes) => {
        const end = Math.min(bytes.length, maxBytes);
        try {
          const head = parseRequestHead(bytes, { end, maxBytes });
          if (head === null) assert.ok(end < maxBytes);
          else assert.ok(head.bytes <= end);
        } catch (error) {
          assert.ok(error instanceof HttpError, String(error));
          assert.ok([400, 431, 505].includes(error.status));
        }
      },
    ),
    RUNS,
  );
});

Deno.test("properties: the UTF-8 check agrees with the platform's decoder, in any pieces, and fails at the first byte it must", () => {
  const fatal = new TextDecoder("utf-8", { fatal: true });
  const valid = (bytes: Uint8Array) => {
    try {
      fatal.decode(bytes);
      return true;
    } catch {
      return false;
    }
  };
  // Whether a prefix is already wrong, whatever might follow it.
  const doomed = (bytes: Uint8Array) => {
    const streaming = new TextDecoder("utf-8", { fatal: true });
    try {
      streaming.decode(bytes, { stream: true });
      return false;
    } catch {
      return true;
    }
  };
  const utf8ish = fc.oneof(
    fc.uint8Array({ maxLength: 40 }),
    fc.string({ unit: "binary", maxLength: 20 }).map((s) => encoder.encode(s)),
    fc.array(
      fc.constantFrom(
        0x41,
        0x80,
        0xbf,
        0xc2,
        0xe0,
        0xed,
        0xf0,
        0xf4,
        0xa0,
        0x9f,
        0x90,
        0x8f,
        0xc0,
        0xf5,
      ),
      { maxLength: 12 },
    ).map((a) => new Uint8Array(a)),
  );
  fc.assert(
    fc.property(
      utf8ish,
      fc.array(fc.nat(), { maxLength: 6 }),
      (bytes, cuts) => {
        let state = UTF8_COMPLETE;
        for (const piece of split(bytes, cuts)) {
          if (state === UTF8_INVALID) break;
          state = checkUtf8(state, piece, 0, piece.length);
        }
        assert.equal(state === UTF8_COMPLETE, valid(bytes));
        // Byte by byte, it fails exactly where the prefix is first doomed.
        let byByte = UTF8_COMPLETE;
        for (let i = 0; i < bytes.length; i++) {
          byByte = checkUtf8(byByte, bytes, i, i + 1);
          assert.equal(
            byByte === UTF8_INVALID,
            doomed(bytes.subarray(0, i + 1)),
            `at byte ${i} of ${[...bytes]}`,
          );
          if (byByte === UTF8_INVALID) break;
        }
      },
    ),
    { numRuns: 1000 },
  );
});

Deno.test("properties: whatever happens in whatever order, the owner is told once, before the connection ends once", () => {
  const events = fc.constantFrom(
    "hold",
    "release",
    "close",
    "closeByPeer",
    "closeSent",
    "echo",
    "expire",
    "lose",
  );
  fc.assert(
    fc.property(fc.array(events, { maxLength: 12 }), (script) => {
      const log: string[] = [];
      const life = new Lifecycle({
        told: () => log.push("told"),
        shutWrite: () => log.push("shutWrite"),
        ended: () => log.push("ended"),
      });
      for (const event of script) {
        if (event === "hold") life.hold();
        if (event === "release") life.release();
        if (event === "close") {
          life.close({ cause: "shutdown", code: 1001, reason: "" }, {
            awaitEcho: true,
            deadline: 10,
          });
        }
        if (event === "closeByPeer") {
          life.close({ cause: "client", code: 1000, reason: "" }, {
            awaitEcho: false,
            deadline: 10,
          });
        }
        if (event === "closeSent") life.closeSent();
        if (event === "echo") life.echo();
        if (event === "expire") life.expire(10);
        if (event === "lose") life.lose();
      }
      const told = log.filter((l) => l === "told").length;
      const ended = log.filter((l) => l === "ended").length;
      assert.ok(told <= 1 && ended <= 1);
      if (ended) {
        assert.ok(told === 1 && log.indexOf("told") < log.indexOf("ended"));
      }
      assert.equal(ended === 1, life.phase.name === "closed");
      assert.equal(told === 1, life.phase.name !== "open");
      assert.ok(log.filter((l) => l === "shutWrite").length <= 1);
    }),
    RUNS,
  );
});
