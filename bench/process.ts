/**
 * Child processes the benchmarks drive over stdin and stdout lines.
 *
 * @module
 */
import { readLines } from "../tests/support/lines.ts";

/** A child process speaking a line protocol. */
export class LineProcess {
  readonly child: Deno.ChildProcess;
  #lines: string[] = [];
  #wake: () => void = () => {};
  #writer: WritableStreamDefaultWriter<Uint8Array>;
  #done = false;

  /** Spawns `deno run -A SCRIPT ARGS`. */
  constructor(
    script: string,
    args: string[],
    options: { v8Flags?: string } = {},
  ) {
    const child = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        ...(options.v8Flags ? [`--v8-flags=${options.v8Flags}`] : []),
        new URL(script, import.meta.url).pathname,
        ...args,
      ],
      stdin: "piped",
      stdout: "piped",
      stderr: "inherit",
    }).spawn();
    this.child = child;
    this.#writer = child.stdin.getWriter();
    readLines(child.stdout, (line) => {
      this.#lines.push(line);
      this.#wake();
    }).finally(() => {
      this.#done = true;
      this.#wake();
    });
  }

  /** Sends one command line. */
  async send(line: string): Promise<void> {
    await this.#writer.write(new TextEncoder().encode(line + "\n"));
  }

  /** Waits for the next line starting with `prefix`; returns the rest of it. */
  async expect(prefix: string, timeoutMs = 120_000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    while (true) {
      const index = this.#lines.findIndex((l) => l.startsWith(prefix));
      if (index >= 0) {
        const [line] = this.#lines.splice(index, 1);
        return line.slice(prefix.length).trim();
      }
      if (this.#done) {
        throw new Error(`The process ended before printing '${prefix}'.`);
      }
      if (Date.now() > deadline) {
        throw new Error(`Timed out waiting for '${prefix}'.`);
      }
      await new Promise<void>((resolve) => {
        this.#wake = resolve;
        setTimeout(resolve, 100);
      });
    }
  }

  /** Closes stdin and waits for the process to end. */
  async stop(): Promise<void> {
    try {
      await this.#writer.close();
    } catch {
      // Already closed.
    }
    const timer = setTimeout(() => this.child.kill("SIGKILL"), 5000);
    await this.child.status;
    clearTimeout(timer);
  }
}
