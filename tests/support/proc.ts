/**
 * A `dorgu-ws` subprocess run as the binary runs (main.ts with the binary's
 * permissions), with its stdout and stderr read line by line as they come.
 */
import { FrameLog } from "./frame_log.ts";
import { readLines } from "./lines.ts";
import { binaryCommand, delay, DENO_DIR } from "./server.ts";

/** A running CLI process. */
export interface CliProcess {
  /** Lines printed to stdout so far. */
  stdout: string[];
  /** Lines printed to stderr so far. */
  stderr: string[];
  /** Waits until `count` stdout (or stderr) lines match. */
  waitFor(
    match: (line: string) => boolean,
    options?: {
      count?: number;
      stream?: "stdout" | "stderr";
      timeoutMs?: number;
    },
  ): Promise<string[]>;
  /** Sends `signal` and resolves with the exit code. */
  stop(signal?: Deno.Signal): Promise<number>;
  /** Resolves with the exit code when the process ends by itself. */
  status: Promise<Deno.CommandStatus>;
}

/**
 * Starts `dorgu-ws ARGS`; with `binary`, that compiled dorgu-ws, with
 * `env` and nothing else of the test's environment.
 */
export function spawnCli(
  args: string[],
  options: { env?: Record<string, string>; binary?: string } = {},
): CliProcess {
  // Every frame the client received is checked against the contract once
  // it has ended (stop, status).
  const frames = new FrameLog();
  const child = new Deno.Command(options.binary ?? Deno.execPath(), {
    ...options.binary ? { args, clearEnv: true, env: options.env ?? {} } : {
      args: binaryCommand(args, { frames }),
      env: { NO_COLOR: "1", DENO_DIR, ...frames.env, ...options.env },
    },
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const stdout: string[] = [];
  const stderr: string[] = [];
  const done = Promise.all([
    readLines(child.stdout, (line) => stdout.push(line)),
    readLines(child.stderr, (line) => stderr.push(line)),
  ]);
  const status = child.status.then((status) => {
    frames.check();
    return status;
  });
  return {
    stdout,
    stderr,
    status,
    async waitFor(
      match,
      { count = 1, stream = "stdout", timeoutMs = 15_000 } = {},
    ) {
      const lines = stream === "stdout" ? stdout : stderr;
      const deadline = Date.now() + timeoutMs;
      while (true) {
        const found = lines.filter(match);
        if (found.length >= count) return found;
        if (Date.now() > deadline) {
          throw new Error(
            `Timed out waiting for ${count} matching ${stream} lines; stdout:\n${
              stdout.join("\n")
            }\nstderr:\n${stderr.join("\n")}`,
          );
        }
        await delay(25);
      }
    },
    async stop(signal: Deno.Signal = "SIGINT") {
      try {
        child.kill(signal);
      } catch {
        // Already gone.
      }
      const { code } = await status;
      await done;
      return code;
    },
  };
}

/**
 * A TCP proxy that can drop every connection and refuse new ones, to play
 * a network blip between a client and a server that stays up, or freeze
 * the connections it has, to play one that silently died.
 */
export class TcpProxy {
  readonly port: number;
  #target: number;
  #listener: Deno.Listener | undefined;
  #connections = new Set<Deno.Conn>();
  #frozen = new WeakSet<Deno.Conn>();

  /** Creates a proxy to `target` on a free port; call `start`. */
  constructor(target: number) {
    this.#target = target;
    const probe = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    this.port = (probe.addr as Deno.NetAddr).port;
    probe.close();
  }

  /** Accepts connections and relays them. */
  start(): void {
    const listener = Deno.listen({ hostname: "127.0.0.1", port: this.port });
    this.#listener = listener;
    (async () => {
      for await (const client of listener) {
        let upstream: Deno.Conn;
        try {
          upstream = await Deno.connect({
            hostname: "127.0.0.1",
            port: this.#target,
          });
        } catch {
          client.close();
          continue;
        }
        this.#connections.add(client);
        this.#connections.add(upstream);
        const close = () => {
          for (const conn of [client, upstream]) {
            this.#connections.delete(conn);
            try {
              conn.close();
            } catch {
              // Already closed.
            }
          }
        };
        const relay = (from: Deno.Conn, to: Deno.Conn) =>
          from.readable.pipeThrough(
            new TransformStream<Uint8Array, Uint8Array>({
              transform: (chunk, controller) => {
                if (!this.#frozen.has(from)) controller.enqueue(chunk);
              },
            }),
          ).pipeTo(to.writable).catch(() => {}).finally(close);
        relay(client, upstream);
        relay(upstream, client);
      }
    })().catch(() => {});
  }

  /**
   * Sends new connections to `target` from now on: a load balancer that
   * picks another replica.
   */
  retarget(target: number): void {
    this.#target = target;
  }

  /**
   * Makes every connection open now go silent: bytes are dropped both ways
   * and nothing is closed, as when a NAT entry or a load balancer forgets
   * a connection. New connections work.
   */
  freeze(): void {
    for (const conn of this.#connections) this.#frozen.add(conn);
  }

  /** Drops every connection and stops listening. */
  stop(): void {
    this.#listener?.close();
    this.#listener = undefined;
    for (const conn of this.#connections) {
      try {
        conn.close();
      } catch {
        // Already closed.
      }
    }
    this.#connections.clear();
  }
}

/**
 * A fresh `XDG_CONFIG_HOME` with `files` in its `dorgu-ws` folder, so no
 * developer's own config file takes part.
 */
export async function configHome(
  files: Record<string, string> = {},
): Promise<string> {
  const home = await Deno.makeTempDir({ prefix: "dorgu-ws-config-" });
  await Deno.mkdir(`${home}/dorgu-ws`);
  for (const [name, text] of Object.entries(files)) {
    await Deno.writeTextFile(`${home}/dorgu-ws/${name}`, text);
  }
  return home;
}
