/**
 * The frame reader's limits and checks that act before a message ends:
 * invalid UTF-8 failed in the fragment and the read that bring it, the
 * frames of one message capped, close frames judged with a reason that
 * says what was wrong, binary messages kept when asked.
 */
import assert from "node:assert/strict";
import { FrameReader, type Inbound } from "../src/transport/frame_reader.ts";
import { encodeFrame, OPCODE } from "../src/transport/frames.ts";

const MASK = new Uint8Array([0x37, 0xfa, 0x21, 0x3d]);
const frame = (
  opcode: number,
  payload: Uint8Array | string,
  fin = true,
) =>
  encodeFrame(
    opcode,
    typeof payload === "string" ? new TextEncoder().encode(payload) : payload,
    { mask: MASK, fin },
  );

/** Feeds `chunks` one read each; returns the items after each read. */
function feedReads(
  reader: FrameReader,
  chunks: Uint8Array[],
): Inbound[][] {
  return chunks.map((chunk) => {
    const items: Inbound[] = [];
    let at = 0;
    while (true) {
      let item;
      while ((item = reader.next()) !== null) items.push(item);
      if (at >= chunk.length || reader.failed) return items;
      const space = reader.space();
      const n = Math.min(space.length, chunk.length - at);
      space.set(chunk.subarray(at, at + n));
      reader.commit(n);
      at += n;
    }
  });
}

const reader = (
  options: Partial<{ frames: number; keepBinary: boolean }> = {},
) =>
  new FrameReader({
    maxMessageBytes: 1024 * 1024,
    maxMessageFrames: options.frames,
    keepBinary: options.keepBinary,
  });

Deno.test("reader: invalid UTF-8 in the second of three fragments fails it there, before the last one comes", () => {
  // Issue 19, defect 3: it was failed only when the message ended.
  const after = feedReads(reader(), [
    frame(OPCODE.text, "\u03ba\u1f79\u03c3", false),
    frame(OPCODE.continuation, new Uint8Array([0xce, 0xbc, 0xf4, 0x90]), false),
  ]);
  assert.deepEqual(after[0], []);
  assert.deepEqual(after[1], [{
    kind: "violation",
    code: 1007,
    reason: "Text is not valid UTF-8.",
  }]);
});

Deno.test("reader: invalid UTF-8 fails a frame in the read that brings it, not when the frame ends", () => {
  const bytes = frame(
    OPCODE.text,
    new Uint8Array([
      0x68,
      0x69,
      0xed,
      0xa0,
      0x80,
      ...new Array(100).fill(0x61),
    ]),
  );
  // The header (6 bytes), "hi", then the start of a UTF-16 surrogate.
  const after = feedReads(reader(), [
    bytes.subarray(0, 9),
    bytes.subarray(9, 10),
    bytes.subarray(10),
  ]);
  assert.deepEqual(after[0], []);
  assert.equal(after[1][0]?.kind, "violation");
  assert.equal((after[1][0] as { code: number }).code, 1007);
});

Deno.test("reader: a text message read whole in one frame is failed for any UTF-8 fault, and kept as sent when valid", () => {
  const faults = [
    [0xc0, 0xaf], // overlong
    [0xed, 0xa0, 0x80], // a UTF-16 surrogate
    [0xf4, 0x90, 0x80, 0x80], // past U+10FFFF
    [0xe2, 0x82], // a character left unfinished
    [0x80], // a lone continuation byte
  ];
  for (const fault of faults) {
    const items = feedReads(reader(), [
      frame(OPCODE.text, new Uint8Array([0x7b, ...fault, 0x7d])),
    ]).flat();
    assert.deepEqual(items, [{
      kind: "violation",
      code: 1007,
      reason: "Text is not valid UTF-8.",
    }], `bytes ${fault}`);
  }
  const text = "\ufeff\u20ac \u{1f600} {}";
  assert.deepEqual(feedReads(reader(), [frame(OPCODE.text, text)]).flat(), [
    { kind: "text", text },
  ]);
});

Deno.test("reader: a character split across fragments and reads is fine; one left unfinished is not", () => {
  const euro = new Uint8Array([0xe2, 0x82, 0xac]);
  const split = feedReads(reader(), [
    frame(OPCODE.text, euro.subarray(0, 1), false),
    frame(OPCODE.continuation, euro.subarray(1, 2), false),
    frame(OPCODE.continuation, euro.subarray(2)),
  ]);
  assert.deepEqual(split.flat(), [{ kind: "text", text: "\u20ac" }]);
  const unfinished = feedReads(reader(), [
    frame(OPCODE.text, euro.subarray(0, 2)),
  ]);
  assert.equal((unfinished[0][0] as { code: number }).code, 1007);
});

Deno.test("reader: a message of endless empty fragments is refused at the frame past the cap", () => {
  // Issue 19, defect 4: frames per message were unbounded.
  const fragments = [frame(OPCODE.text, "", false)];
  for (let i = 0; i < 9; i++) {
    fragments.push(frame(OPCODE.continuation, "", false));
  }
  const capped = feedReads(reader({ frames: 10 }), [
    ...fragments,
    frame(OPCODE.continuation, "", false),
  ]);
  assert.deepEqual(capped.slice(0, 10).flat(), []);
  assert.deepEqual(capped[10], [{
    kind: "violation",
    code: 1009,
    reason: "Message too big: more than 10 frames.",
  }]);
  // Control frames in between do not count; a new message starts over.
  const interleaved = feedReads(reader({ frames: 3 }), [
    frame(OPCODE.text, "a", false),
    frame(OPCODE.ping, ""),
    frame(OPCODE.ping, ""),
    frame(OPCODE.continuation, "b", false),
    frame(OPCODE.continuation, "c"),
    frame(OPCODE.text, "d", false),
    frame(OPCODE.continuation, "e", false),
    frame(OPCODE.continuation, "f"),
  ]).flat();
  assert.deepEqual(interleaved.map((i) => i.kind), [
    "ping",
    "ping",
    "text",
    "text",
  ]);
});

Deno.test("reader: the default cap lets 131,072 frames through and refuses the next", () => {
  const empty = frame(OPCODE.continuation, "", false);
  const stream = new Uint8Array(empty.length * 131_072);
  stream.set(frame(OPCODE.text, "", false));
  for (let i = 1; i < 131_072; i++) stream.set(empty, i * empty.length);
  const r = reader();
  const [items] = feedReads(r, [stream]);
  assert.deepEqual(items, []);
  assert.equal(feedReads(r, [empty])[0][0]?.kind, "violation");
});

Deno.test("reader: a close frame with a 1-byte payload is refused with a reason that says so", () => {
  // Issue 19, defect 6: the reason was "Invalid close code.".
  const [items] = feedReads(reader(), [
    frame(OPCODE.close, new Uint8Array([0x03])),
  ]);
  assert.deepEqual(items, [{
    kind: "violation",
    code: 1002,
    reason:
      "A close frame's payload must be empty or begin with a 2-byte code; this one has 1 byte.",
  }]);
  const [reserved] = feedReads(reader(), [
    frame(OPCODE.close, new Uint8Array([0x03, 0xed])),
  ]);
  assert.deepEqual(reserved, [{
    kind: "violation",
    code: 1002,
    reason:
      "Close code 1005 may not be sent: use 1000-1003, 1007-1014 or 3000-4999.",
  }]);
  const [badReason] = feedReads(reader(), [
    frame(OPCODE.close, new Uint8Array([0x03, 0xe8, 0xc0, 0xaf])),
  ]);
  assert.equal((badReason[0] as { code: number }).code, 1007);
});

Deno.test("reader: binary messages are counted, or kept whole when asked", () => {
  const bytes = new Uint8Array(3000).map((_, i) => i & 0xff);
  const stream = [
    frame(OPCODE.binary, bytes.subarray(0, 1000), false),
    frame(OPCODE.continuation, bytes.subarray(1000)),
  ];
  assert.deepEqual(feedReads(reader(), stream).flat(), [
    { kind: "binary", bytes: 3000 },
  ]);
  assert.deepEqual(feedReads(reader({ keepBinary: true }), stream).flat(), [
    { kind: "binary", bytes: 3000, data: bytes },
  ]);
});

Deno.test("reader: with data held it reads control frames and stops at a data frame's header", () => {
  const r = reader();
  const stream = new Uint8Array([
    ...frame(OPCODE.ping, "p"),
    ...frame(OPCODE.text, "held"),
    ...frame(OPCODE.pong, "after"),
  ]);
  const space = r.space();
  space.set(stream);
  r.commit(stream.length);
  assert.equal(r.next({ holdData: true })?.kind, "ping");
  assert.equal(r.next({ holdData: true }), null);
  assert.ok(r.heldAtData);
  assert.deepEqual(r.next(), { kind: "text", text: "held" });
  assert.ok(!r.heldAtData);
  assert.equal(r.next({ holdData: true })?.kind, "pong");
});
