/**
 * A real browser for tests: Debian's Chromium, headless, driven over the
 * DevTools protocol with Deno's own WebSocket (no browser-automation
 * package needed).
 */
import { delay } from "./server.ts";

const CHROMIUM = ["/usr/bin/chromium", "/usr/bin/chromium-browser"];

/** A headless Chromium and one page in it. */
export class Browser {
  readonly #process: Deno.ChildProcess;
  readonly #socket: WebSocket;
  readonly #profile: string;
  #nextId = 1;
  #pending = new Map<number, (message: Record<string, unknown>) => void>();
  #session = "";

  private constructor(
    process: Deno.ChildProcess,
    socket: WebSocket,
    profile: string,
  ) {
    this.#process = process;
    this.#socket = socket;
    this.#profile = profile;
    socket.onmessage = (event) => {
      const message = JSON.parse(event.data);
      this.#pending.get(message.id)?.(message);
      this.#pending.delete(message.id);
    };
  }

  /** Starts Chromium with a fresh profile and opens a blank page. */
  static async launch(): Promise<Browser> {
    const binary = CHROMIUM.find((path) => {
      try {
        return Deno.statSync(path).isFile;
      } catch {
        return false;
      }
    });
    if (!binary) {
      throw new Error(
        "Chromium is not installed: apt-get install chromium (.ci/run does).",
      );
    }
    const profile = await Deno.makeTempDir({ prefix: "dorgu-ws-chromium-" });
    const process = new Deno.Command(binary, {
      args: [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        `--user-data-dir=${profile}`,
        "--remote-debugging-port=0",
        "about:blank",
      ],
      stdout: "null",
      stderr: "piped",
    }).spawn();
    const reader = process.stderr.pipeThrough(new TextDecoderStream())
      .getReader();
    let output = "";
    let endpoint: string | undefined;
    const deadline = Date.now() + 30_000;
    while (!endpoint && Date.now() < deadline) {
      const { value, done } = await reader.read();
      if (done) break;
      output += value;
      endpoint = /DevTools listening on (ws:\/\/\S+)/.exec(output)?.[1];
    }
    if (!endpoint) {
      process.kill("SIGKILL");
      throw new Error(`Chromium did not start:\n${output}`);
    }
    // Keep draining stderr so Chromium never blocks on it.
    (async () => {
      while (!(await reader.read()).done) { /* discard */ }
    })().catch(() => {});
    const socket = new WebSocket(endpoint);
    await new Promise((resolve, reject) => {
      socket.onopen = resolve;
      socket.onerror = reject;
    });
    const browser = new Browser(process, socket, profile);
    const { targetId } = await browser.#call("Target.createTarget", {
      url: "about:blank",
    }) as { targetId: string };
    const { sessionId } = await browser.#call("Target.attachToTarget", {
      targetId,
      flatten: true,
    }) as { sessionId: string };
    browser.#session = sessionId;
    return browser;
  }

  /** Loads `url` in the page and waits for it to finish loading. */
  async goto(url: string): Promise<void> {
    await this.#call("Page.navigate", { url }, true);
    for (let i = 0; i < 100; i++) {
      const state = await this.evaluate("document.readyState");
      if (
        state === "complete" && await this.evaluate("location.href") === url
      ) {
        return;
      }
      await delay(50);
    }
    throw new Error(`The page did not load ${url}.`);
  }

  /** Evaluates `expression` in the page (awaiting a promise) and returns its value. */
  async evaluate(expression: string): Promise<unknown> {
    const result = await this.#call("Runtime.evaluate", {
      expression,
      awaitPromise: true,
      returnByValue: true,
    }, true) as {
      result: { value?: unknown };
      exceptionDetails?: { text: string };
    };
    if (result.exceptionDetails) {
      throw new Error(`In the page: ${result.exceptionDetails.text}`);
    }
    return result.result.value;
  }

  /** Closes the browser and removes its profile. */
  async close(): Promise<void> {
    try {
      this.#socket.close();
    } catch {
      // Already closed.
    }
    try {
      this.#process.kill("SIGKILL");
    } catch {
      // Already gone.
    }
    await this.#process.status;
    await Deno.remove(this.#profile, { recursive: true }).catch(() => {});
  }

  #call(
    method: string,
    params: Record<string, unknown>,
    inPage = false,
  ): Promise<unknown> {
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      this.#pending.set(id, (message) => {
        if (message.error) {
          reject(new Error(`${method}: ${JSON.stringify(message.error)}`));
        } else resolve(message.result);
      });
      this.#socket.send(JSON.stringify({
        id,
        method,
        params,
        ...(inPage ? { sessionId: this.#session } : {}),
      }));
    });
  }
}
