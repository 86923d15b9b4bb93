/**
 * The contract check reaches past the tests' own clients: the frames a
 * dorgu-ws CLI process receives (recorded by a preload, checked when the
 * process ends) and those a Chromium page receives (reported by DevTools)
 * are held to docs/asyncapi.json too, and a frame that breaks it fails the
 * test whose process or page received it.
 */
import assert from "node:assert/strict";
import { Browser } from "./support/browser.ts";
import { serveFake } from "./support/fake_server.ts";
import { FrameLog } from "./support/frame_log.ts";
import {
  binaryCommand,
  copyExamples,
  DENO_DIR,
  eventually,
  runCli,
  startTestServer,
} from "./support/server.ts";

const unsanitized = { sanitizeOps: false, sanitizeResources: false };

// An error whose code the document does not list.
const teapot = ({ requestId }: Record<string, unknown>) => [{
  type: "error",
  topic: "cluster",
  requestId,
  payload: { code: "teapot", message: "No." },
  timestamp: new Date().toISOString(),
}];

Deno.test({
  name:
    "a CLI process records every frame it receives, and they are checked when it ends",
  ...unsanitized,
  async fn() {
    await using server = await startTestServer({
      source: await copyExamples(),
    });
    const frames = new FrameLog();
    const output = await new Deno.Command(Deno.execPath(), {
      args: binaryCommand(["get", "cp", "-o", "name", "--url", server.wsUrl], {
        frames,
      }),
      env: { NO_COLOR: "1", DENO_DIR, ...frames.env },
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.equal(new TextDecoder().decode(output.stderr), "");
    assert.equal(
      new TextDecoder().decode(output.stdout),
      "clusterpersona.dorgu.io/eu-west-prod\n",
    );
    // The request's answer.
    assert.ok(frames.check() >= 1);
  },
});

Deno.test({
  name: "runCli fails when the CLI received a frame that breaks the contract",
  ...unsanitized,
  async fn() {
    const server = serveFake(teapot);
    try {
      await assert.rejects(
        runCli(["get", "cp", "--url", server.url]),
        /Contract.*code must be equal to one of the allowed values/,
      );
    } finally {
      await server.shutdown();
    }
  },
});

Deno.test({
  name:
    "a browser page that received a frame breaking the contract fails its browser's close",
  ...unsanitized,
  async fn() {
    const server = serveFake(teapot);
    const browser = await Browser.launch();
    try {
      const page = await browser.open();
      const reply = await page.evaluate<string>(`new Promise((resolve) => {
        const ws = new WebSocket(${JSON.stringify(server.url)});
        ws.onopen = () => ws.send(JSON.stringify({ type: "request", topic: "cluster", requestId: "r" }));
        ws.onmessage = (e) => { resolve(JSON.parse(e.data).payload.code); ws.close(); };
      })`);
      assert.equal(reply, "teapot");
      // DevTools reports the frame on its own connection, a moment later.
      await eventually(() => assert.equal(page.contractViolations.length, 1));
      assert.match(page.contractViolations[0], /Contract/);
    } finally {
      await assert.rejects(browser.close(), /Contract/);
      await server.shutdown();
    }
  },
});
