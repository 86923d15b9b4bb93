/**
 * A real browser for tests: Debian's Chromium, headless, driven by
 * puppeteer-core (the maintained DevTools client; it runs under Deno's
 * Node compatibility). Launching, pages, console errors and screenshots
 * live here so every browser test starts Chromium the same way.
 *
 * @module
 */
import puppeteer, {
  type Browser as Driver,
  type Page as DriverPage,
} from "puppeteer-core";
import { checkServerFrame } from "./contract.ts";

const CHROMIUM = ["/usr/bin/chromium", "/usr/bin/chromium-browser"];

// Exactly these: headless, no sandbox (tests run as root), and nothing that
// reaches out to the network or needs a GPU on its own.
const FLAGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

/** One tab, with what its scripts reported as errors. */
export class Page {
  /** The puppeteer page, for anything this wrapper does not cover. */
  readonly driver: DriverPage;
  /** console.error messages and uncaught exceptions, in order. */
  readonly errors: string[] = [];
  /**
   * Text frames the page received that break the contract
   * (docs/asyncapi.json); {@link Browser.close} throws if there are any.
   */
  readonly contractViolations: string[] = [];

  /** Wraps a puppeteer page and starts collecting its errors. */
  constructor(driver: DriverPage) {
    this.driver = driver;
    driver.on("console", (message) => {
      if (message.type() === "error") this.errors.push(message.text());
    });
    driver.on("pageerror", (error) => this.errors.push(String(error)));
  }

  /**
   * Checks every text frame the page's WebSockets receive against the
   * contract, as the tests' own clients check theirs (DevTools reports
   * each frame received).
   */
  async checkFrames(): Promise<void> {
    const session = await this.driver.createCDPSession();
    session.on("Network.webSocketFrameReceived", ({ response }) => {
      if (response.opcode !== 1) return;
      try {
        checkServerFrame(response.payloadData);
      } catch (error) {
        const message = (error as Error).message;
        this.contractViolations.push(message);
        this.errors.push(message);
      }
    });
    await session.send("Network.enable");
  }

  /** Loads `url` and waits until it has loaded. */
  async goto(url: string): Promise<void> {
    await this.driver.goto(url, { waitUntil: "load" });
  }

  /** Evaluates `expression` in the page, awaiting a promise, and returns its value. */
  evaluate<T = unknown>(expression: string): Promise<T> {
    return this.driver.evaluate(expression) as Promise<T>;
  }

  /**
   * Records Content-Security-Policy violations from the next load on, for
   * {@link Page.cspViolations}.
   */
  async recordCspViolations(): Promise<void> {
    await this.driver.evaluateOnNewDocument(`
      window.cspViolations = [];
      document.addEventListener("securitypolicyviolation", (e) =>
        window.cspViolations.push(e.violatedDirective + " " + e.blockedURI));
    `);
  }

  /** The violations recorded since the page loaded. */
  cspViolations(): Promise<string[]> {
    return this.evaluate<string[]>("window.cspViolations");
  }

  /** Waits until `expression` is truthy in the page. */
  async waitFor(expression: string, timeoutMs = 20_000): Promise<void> {
    await this.driver.waitForFunction(expression, {
      timeout: timeoutMs,
      polling: 20,
    });
  }

  /** The visible text of the first element matching `selector`, or "". */
  text(selector: string): Promise<string> {
    return this.evaluate<string>(
      `document.querySelector(${JSON.stringify(selector)})?.innerText ?? ""`,
    );
  }

  /** A PNG of the visible page, also written to `path` when given. */
  async screenshot(path?: string): Promise<Uint8Array> {
    const png = await this.driver.screenshot({ type: "png" });
    if (path) await Deno.writeFile(path, png);
    return png;
  }
}

/** A headless Chromium with a fresh profile. */
export class Browser {
  readonly #driver: Driver;
  readonly #profile: string;
  readonly #pages: Page[] = [];

  private constructor(driver: Driver, profile: string) {
    this.#driver = driver;
    this.#profile = profile;
  }

  /**
   * Starts Chromium; `args` adds flags (`--host-resolver-rules=...` to play
   * a DNS rebinding, say).
   */
  static async launch(options: { args?: string[] } = {}): Promise<Browser> {
    const executablePath = CHROMIUM.find((path) => {
      try {
        return Deno.statSync(path).isFile;
      } catch {
        return false;
      }
    });
    if (!executablePath) {
      throw new Error(
        "Chromium is not installed: run 'deno task test' (its set-up installs it as root on Debian) or 'apt-get install -y chromium'.",
      );
    }
    const profile = await Deno.makeTempDir({ prefix: "dorgu-ws-chromium-" });
    try {
      const driver = await puppeteer.launch({
        executablePath,
        ignoreDefaultArgs: true,
        args: [
          ...FLAGS,
          ...options.args ?? [],
          `--user-data-dir=${profile}`,
          "about:blank",
        ],
        userDataDir: profile,
        timeout: 30_000,
      });
      return new Browser(driver, profile);
    } catch (error) {
      await Deno.remove(profile, { recursive: true }).catch(() => {});
      throw error;
    }
  }

  /** Opens a new tab at `url`. */
  async open(url = "about:blank"): Promise<Page> {
    const page = await this.#watched(await this.#driver.newPage());
    if (url !== "about:blank") await page.goto(url);
    return page;
  }

  /**
   * Opens a tab in a browser context of its own: no cookies or storage of
   * the other tabs (an incognito window).
   */
  async openIsolated(): Promise<Page> {
    const context = await this.#driver.createBrowserContext();
    return await this.#watched(await context.newPage());
  }

  async #watched(driver: DriverPage): Promise<Page> {
    const page = new Page(driver);
    await page.checkFrames();
    this.#pages.push(page);
    return page;
  }

  /**
   * Closes the browser and removes its profile; throws when a page received
   * a frame that breaks the contract.
   */
  async close(): Promise<void> {
    await this.#driver.close().catch(() => {});
    await Deno.remove(this.#profile, { recursive: true }).catch(() => {});
    const broken = this.#pages.flatMap((page) => page.contractViolations);
    if (broken.length) throw new Error(broken.join("\n"));
  }
}
