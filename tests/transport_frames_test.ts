import assert from "node:assert/strict";
import { FrameReader, type Inbound } from "../src/transport/frame_reader.ts";
import {
  encodeClose,
  encodeFrame,
  encodeText,
  OPCODE,
  validCloseCode,
} from "../src/transport/frames.ts";
import { HARD_FACTOR, SendQueue } from "../src/transport/send_queue.ts";

const MASK = new Uint8Array([0x37, 0xfa, 0x21, 0x3d]);
const text = (s: string, fin = true) =>
  encodeFrame(OPCODE.text, new TextEncoder().encode(s), { mask: MASK, fin });
const cont = (s: string, fin = true) =>
  encodeFrame(OPCODE.continuation, new TextEncoder().encode(s), {
    mask: MASK,
    fin,
  });

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** Feeds `bytes` in chunks of `size` and collects every item. */
function feed(
  bytes: Uint8Array,
  options: { size?: number; max?: number } = {},
): Inbound[] {
  const reader = new FrameReader({
    maxMessageBytes: options.max ?? 1024 * 1024,
  });
  const items: Inbound[] = [];
  let at = 0;
  while (true) {
    let item;
    // A control payload is a view into the read buffer, valid until the
    // next read: what is kept is a copy.
    while ((item = reader.next()) !== null) items.push(structuredClone(item));
    if (at >= bytes.length || reader.failed) break;
    const space = reader.space();
    const n = Math.min(
      space.length,
      options.size ?? space.length,
      bytes.length - at,
    );
    space.set(bytes.subarray(at, at + n));
    reader.commit(n);
    at += n;
  }
  return items;
}

Deno.test("frames: messages survive every chunk boundary", () => {
  const stream = concat(
    text("hello"),
    text("x".repeat(300)),
    text("\u00e9\u20ac\u{1F600}"),
    text("a", false),
    encodeFrame(OPCODE.ping, new Uint8Array([1, 2, 3]), { mask: MASK }),
    cont("b", false),
    cont("c"),
    text("y".repeat(70_000)),
  );
  const expected = [
    "hello",
    "x".repeat(300),
    "\u00e9\u20ac\u{1F600}",
    "abc",
    "y".repeat(70_000),
  ];
  for (const size of [1, 2, 3, 7, 13, 100, 4096]) {
    const items = feed(stream, { size });
    assert.deepEqual(
      items.filter((i) => i.kind === "text").map((i) =>
        (i as { text: string }).text
      ),
      expected,
      `chunks of ${size}`,
    );
    const ping = items.find((i) => i.kind === "ping") as {
      payload: Uint8Array;
    };
    assert.deepEqual([...ping.payload], [1, 2, 3]);
  }
});

Deno.test("frames: a message over the limit is refused at its header", () => {
  // Only the header of a 2 MiB frame is sent: the refusal must not wait
  // for (or hold) its payload.
  const header = text("z".repeat(2 * 1024 * 1024)).subarray(0, 14);
  const items = feed(header, { max: 512 * 1024 });
  assert.deepEqual(items.map((i) => i.kind), ["violation"]);
  assert.equal((items[0] as { code: number }).code, 1009);
});

Deno.test("frames: fragments count toward the limit together", () => {
  const stream = concat(text("a".repeat(600), false), cont("b".repeat(600)));
  const items = feed(stream, { max: 1000 });
  assert.deepEqual(items.map((i) => [i.kind, (i as { code?: number }).code]), [
    ["violation", 1009],
  ]);
});

Deno.test("frames: many tiny fragments cost no more than the message", () => {
  const parts = [text("", false)];
  for (let i = 0; i < 20_000; i++) parts.push(cont("q", false));
  parts.push(cont("!"));
  const reader = new FrameReader({ maxMessageBytes: 1024 * 1024 });
  const stream = concat(...parts);
  let at = 0;
  let item: Inbound | null = null;
  let maxHeld = 0;
  while (at < stream.length || item === null) {
    item = reader.next();
    if (item) break;
    const space = reader.space();
    const n = Math.min(space.length, stream.length - at);
    space.set(stream.subarray(at, at + n));
    reader.commit(n);
    at += n;
    maxHeld = Math.max(maxHeld, reader.heldBytes);
  }
  assert.deepEqual(item, { kind: "text", text: "q".repeat(20_000) + "!" });
  assert.ok(maxHeld < 64 * 1024, `held ${maxHeld} bytes`);
});

Deno.test("frames: protocol violations get their RFC 6455 close codes", () => {
  const cases: [string, Uint8Array, number][] = [
    ["unmasked", encodeFrame(OPCODE.text, new Uint8Array([104])), 1002],
    [
      "reserved bits",
      (() => {
        const f = text("hi");
        f[0] |= 0x40;
        return f;
      })(),
      1002,
    ],
    [
      "unknown opcode",
      encodeFrame(0x3, new Uint8Array(0), { mask: MASK }),
      1002,
    ],
    [
      "long ping",
      encodeFrame(OPCODE.ping, new Uint8Array(200), { mask: MASK }),
      1002,
    ],
    [
      "fragmented ping",
      encodeFrame(OPCODE.ping, new Uint8Array(2), { mask: MASK, fin: false }),
      1002,
    ],
    ["orphan continuation", cont("x"), 1002],
    ["interleaved message", concat(text("a", false), text("b")), 1002],
    [
      "invalid UTF-8",
      encodeFrame(OPCODE.text, new Uint8Array([0xc3, 0x28]), { mask: MASK }),
      1007,
    ],
    [
      "close code 1005",
      encodeFrame(OPCODE.close, new Uint8Array([0x03, 0xed]), { mask: MASK }),
      1002,
    ],
    [
      "one-byte close",
      encodeFrame(OPCODE.close, new Uint8Array([3]), { mask: MASK }),
      1002,
    ],
  ];
  for (const [name, bytes, code] of cases) {
    const items = feed(bytes);
    const last = items.at(-1) as { kind: string; code: number };
    assert.equal(last?.kind, "violation", name);
    assert.equal(last.code, code, name);
  }
});

Deno.test("frames: close frames carry code and reason; binary is counted, not kept", () => {
  const items = feed(concat(
    encodeFrame(OPCODE.binary, new Uint8Array(5000), { mask: MASK }),
    encodeClose(4000, "bye", { mask: MASK }),
  ));
  assert.deepEqual(items, [
    { kind: "binary", bytes: 5000 },
    { kind: "close", code: 4000, reason: "bye" },
  ]);
  assert.deepEqual(
    feed(encodeFrame(OPCODE.close, new Uint8Array(0), { mask: MASK })),
    [
      { kind: "close", code: undefined, reason: "" },
    ],
  );
});

Deno.test("frames: close reasons are cut to fit, on a character boundary", () => {
  const frame = encodeClose(1008, "\u00e9".repeat(200));
  assert.equal(frame[1], 2 + 122);
  const reason = new TextDecoder("utf-8", { fatal: true }).decode(
    frame.subarray(4),
  );
  assert.equal(reason, "\u00e9".repeat(61));
  assert.ok(
    validCloseCode(1000) && validCloseCode(4999) && validCloseCode(1014),
  );
  assert.ok(
    !validCloseCode(1005) && !validCloseCode(999) && !validCloseCode(5000),
  );
});

Deno.test("frames: lengths use the 7-bit, 16-bit and 64-bit forms", () => {
  for (const [size, header] of [[125, 2], [126, 4], [65535, 4], [65536, 10]]) {
    const frame = encodeText("a".repeat(size));
    assert.equal(frame.length, size + header, `size ${size}`);
    const items = feed(
      encodeFrame(OPCODE.text, frame.subarray(header), { mask: MASK }),
    );
    assert.equal((items[0] as { text: string }).text.length, size);
  }
});

Deno.test("send queue: stale frames count against the budgets, a fresh burst only against the hard cap", () => {
  const queue = new SendQueue({ maxMessages: 3, maxBytes: 100 });
  const frame = (n: number) => new Uint8Array(n);
  assert.equal(
    queue.offer(frame(400), "event", 0),
    "queued",
    "one big frame fits an empty queue",
  );
  assert.equal(
    queue.offer(frame(10), "event", 0),
    "queued",
    "a fresh burst is not held against the client",
  );
  assert.equal(
    queue.offer(frame(10), "event", 150),
    "dropped",
    "the big frame has waited past the grace",
  );
  assert.equal(queue.offer(frame(10), "reply", 150), "refused");
  assert.equal(queue.offer(frame(10), "replay", 150), "queued");
  assert.equal(queue.take(1000)?.length, 420, "joined into one write");
  assert.equal(queue.bytes, 0);
  for (let i = 0; i < 3; i++) {
    assert.equal(queue.offer(frame(1), "event", 200), "queued");
  }
  assert.equal(
    queue.offer(frame(1), "event", 250),
    "queued",
    "within the grace",
  );
  assert.equal(
    queue.offer(frame(1), "event", 301),
    "dropped",
    "three stale messages",
  );
  assert.equal(queue.offer(frame(1), "reply", 301), "refused");
  assert.equal(queue.take(2)?.length, 2);
  assert.equal(queue.messages, 2);
  queue.clear();
  assert.equal(queue.take(10), undefined);
});

Deno.test("send queue: the hard cap bounds even a fresh burst, in messages and bytes", () => {
  const queue = new SendQueue({ maxMessages: 2, maxBytes: 1000 });
  let queued = 0;
  for (let i = 0; i < 100; i++) {
    if (queue.offer(new Uint8Array(1), "event", 0) === "queued") queued++;
  }
  assert.equal(queued, 2 * HARD_FACTOR);
  const bytes = new SendQueue({ maxMessages: 1000, maxBytes: 100 });
  queued = 0;
  for (let i = 0; i < 100; i++) {
    if (bytes.offer(new Uint8Array(30), "event", 0) === "queued") queued++;
  }
  assert.equal(queued * 30 <= 100 * HARD_FACTOR, true);
  assert.equal(queued, Math.floor((100 * HARD_FACTOR) / 30));
});
