/**
 * The watch stream's decoding: lines across any chunking, a stream cut
 * mid-line, and a line without end.
 */
import assert from "node:assert/strict";
import { readWatchEvents } from "../src/kube/mod.ts";
import { line, persona, stream } from "./support/informer_harness.ts";

Deno.test("watch lines decode across any chunking, even inside a character", async () => {
  const text = line("ADDED", persona("caf\u00e9-\u{1f680}", 5)) +
    line("BOOKMARK", { metadata: { resourceVersion: "6" } });
  const bytes = new TextEncoder().encode(text);
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      for (const byte of bytes) controller.enqueue(new Uint8Array([byte]));
      controller.close();
    },
  });
  const events = [];
  for await (const event of readWatchEvents(body)) events.push(event);
  assert.deepEqual(events.map((e) => e.type), ["ADDED", "BOOKMARK"]);
  assert.equal(
    (events[0].object as { metadata: { name: string } }).metadata.name,
    "caf\u00e9-\u{1f680}",
  );
});

Deno.test("a stream that ends mid-line is an error, not a silent loss", async () => {
  const body = stream([
    line("ADDED", persona("a", 2)),
    '{"type":"MODIFIED","obj',
  ]).body!;
  const seen: string[] = [];
  await assert.rejects(async () => {
    for await (const event of readWatchEvents(body)) seen.push(event.type);
  }, /ended mid-line/);
  assert.deepEqual(seen, ["ADDED"]);
});

Deno.test("a watch line without end is an error once past the longest line read, not a string growing until memory runs out", async () => {
  const mib = new TextEncoder().encode("x".repeat(1024 * 1024));
  let sent = 0;
  const body = new ReadableStream<Uint8Array>({
    pull(controller) {
      sent++;
      controller.enqueue(
        sent === 1
          ? new TextEncoder().encode(line("ADDED", persona("a", 2)))
          : mib,
      );
    },
  });
  const seen: string[] = [];
  const started = performance.now();
  await assert.rejects(async () => {
    for await (const event of readWatchEvents(body)) seen.push(event.type);
  }, /^WatchDecodeError: A watch line is longer than 64 MiB: x{120}\.\.\.$/);
  assert.deepEqual(seen, ["ADDED"]);
  // Reading stops there (streams pull a few chunks ahead).
  assert.ok(sent < 80, `read ${sent} chunks`);
  assert.ok(performance.now() - started < 5000);
});
