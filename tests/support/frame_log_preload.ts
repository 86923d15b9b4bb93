/**
 * Preloaded (`deno run --preload`) into the dorgu-ws processes the tests
 * run with `main.ts`: every text message the process's WebSockets receive
 * is appended to the file `DORGU_WS_TEST_FRAME_LOG` names, one JSON string
 * a line, for the test to check against the contract when the process has
 * ended (support/frame_log.ts). Without that variable it does nothing.
 *
 * A synchronous append, so nothing is lost when the CLI exits at once; the
 * process may write that one file (`--allow-write` for it alone).
 *
 * @module
 */
const path = Deno.env.get("DORGU_WS_TEST_FRAME_LOG");

if (path) {
  const log = path;
  const Base = globalThis.WebSocket;
  class RecordedWebSocket extends Base {
    constructor(...args: ConstructorParameters<typeof WebSocket>) {
      super(...args);
      this.addEventListener("message", (event) => {
        if (typeof event.data !== "string") return;
        Deno.writeTextFileSync(log, JSON.stringify(event.data) + "\n", {
          append: true,
        });
      });
    }
  }
  globalThis.WebSocket = RecordedWebSocket;
}
