/**
 * Starting dorgu-ws for tests: in-process, or as a subprocess run exactly
 * the way the compiled binary runs (same entry point, same permissions).
 */
import { RUNTIME_PERMISSIONS, V8_FLAGS_ARG } from "../../tools/permissions.ts";
import { FrameLog } from "./frame_log.ts";
import { readLines } from "./lines.ts";
import { createLogger, type Logger } from "../../src/log.ts";
import { DEFAULT_CONFIG, type ServeConfig } from "../../src/server/config.ts";
import {
  type RunningServer,
  type StartOptions,
  startServer,
} from "../../src/server/serve.ts";

const ROOT = new URL("../../", import.meta.url).pathname;
/** Children get the same module cache even when a test changes HOME. */
export const DENO_DIR: string = Deno.env.get("DENO_DIR") ??
  `${Deno.env.get("HOME")}/.cache/deno`;

/** Copies the bundled example cluster into a fresh temporary directory. */
export async function copyExamples(): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "dorgu-ws-test-" });
  const copy = async (from: string, to: string) => {
    await Deno.mkdir(to, { recursive: true });
    for await (const entry of Deno.readDir(from)) {
      if (entry.isDirectory) {
        await copy(`${from}/${entry.name}`, `${to}/${entry.name}`);
      } else {
        await Deno.copyFile(`${from}/${entry.name}`, `${to}/${entry.name}`);
      }
    }
  };
  await copy(`${ROOT}examples/cluster`, dir);
  return dir;
}

/** Log lines captured from an in-process server. */
export interface CapturedLog {
  logger: Logger;
  lines: Record<string, unknown>[];
}

/** A logger that keeps its lines for assertions. */
export function captureLog(): CapturedLog {
  const lines: Record<string, unknown>[] = [];
  return {
    lines,
    logger: createLogger({
      level: "debug",
      write: (line) => lines.push(JSON.parse(line)),
    }),
  };
}

/** An in-process server and its URLs. */
export interface TestServer extends RunningServer {
  /** `ws://127.0.0.1:PORT/ws`. */
  wsUrl: string;
  /** `http://127.0.0.1:PORT`. */
  httpUrl: string;
  /** The port. */
  port: number;
  /** Shuts the server down quickly. */
  [Symbol.asyncDispose](): Promise<void>;
}

/** Starts an in-process server on a free loopback port. */
export async function startTestServer(
  overrides: Partial<ServeConfig>,
  options: StartOptions = {},
): Promise<TestServer> {
  const server = await startServer(
    { ...DEFAULT_CONFIG, hostname: "127.0.0.1", port: 0, ...overrides },
    { log: options.log ?? captureLog().logger, ...options },
  );
  const port = server.addr.port;
  return Object.assign(server, {
    port,
    wsUrl: `ws://127.0.0.1:${port}/ws`,
    httpUrl: `http://127.0.0.1:${port}`,
    [Symbol.asyncDispose]: () => server.shutdown(200),
  });
}

/** A server subprocess. */
export interface ServerProcess {
  /** The OS process. */
  child: Deno.ChildProcess;
  /** The port it listens on. */
  port: number;
  /** Every stderr line so far, parsed when JSON. */
  logs: (Record<string, unknown> | string)[];
  /** Waits for a log line matching `match`. */
  waitForLog(
    match: (line: Record<string, unknown>) => boolean,
    timeoutMs?: number,
  ): Promise<Record<string, unknown>>;
  /** Sends `signal` and resolves with the exit status. */
  stop(signal?: Deno.Signal): Promise<Deno.CommandStatus>;
}

/**
 * The command line the compiled binary is equivalent to; with `frames`, the
 * process also records the frames it receives there (support/frame_log.ts).
 */
export function binaryCommand(
  args: string[],
  options: { frames?: FrameLog } = {},
): string[] {
  return [
    "run",
    ...RUNTIME_PERMISSIONS,
    V8_FLAGS_ARG,
    ...options.frames?.flags ?? [],
    `${ROOT}main.ts`,
    ...args,
  ];
}

/** How {@link spawnServer} and {@link runCli} start dorgu-ws. */
export interface LaunchOptions {
  /** Environment variables, added to the test's own. */
  env?: Record<string, string>;
  /**
   * A compiled dorgu-ws to run instead of main.ts: it gets `env` and
   * nothing else of the test's environment, and runs in `cwd`.
   */
  binary?: string;
  /** Working directory. */
  cwd?: string;
  /**
   * The open-file limit, soft and hard, set by a shell before it execs the
   * server (so the process id stays the server's). Servers only.
   */
  fileLimit?: number;
}

function command(
  args: string[],
  options: LaunchOptions & { frames?: FrameLog },
): Deno.CommandOptions {
  const shared = { cwd: options.cwd };
  if (options.binary) {
    return { ...shared, args, clearEnv: true, env: options.env ?? {} };
  }
  return {
    ...shared,
    args: binaryCommand(args, { frames: options.frames }),
    env: {
      NO_COLOR: "1",
      DENO_DIR,
      ...options.frames?.env,
      ...options.env,
    },
  };
}

/**
 * Runs `dorgu-ws serve ARGS` as a subprocess with the binary's permissions
 * and waits until it listens. `--websocket-addr` defaults to a free port.
 */
export async function spawnServer(
  args: string[],
  options: LaunchOptions = {},
): Promise<ServerProcess> {
  const withAddr = args.some((a) => a.startsWith("--websocket-addr")) ||
      options.env?.DORGU_WS_WEBSOCKET_ADDR
    ? args
    : [...args, "--websocket-addr", "127.0.0.1:0"];
  const program = options.binary ?? Deno.execPath();
  const launch = command(["serve", ...withAddr], options);
  const child = new Deno.Command(
    options.fileLimit === undefined ? program : "bash",
    {
      ...launch,
      args: options.fileLimit === undefined ? launch.args : [
        "-c",
        `ulimit -n ${options.fileLimit} && exec "$0" "$@"`,
        program,
        ...launch.args ?? [],
      ],
      stdout: "null",
      stderr: "piped",
    },
  ).spawn();
  const logs: (Record<string, unknown> | string)[] = [];
  let wake = () => {};
  readLines(child.stderr, (line) => {
    try {
      logs.push(JSON.parse(line));
    } catch {
      logs.push(line);
    }
    wake();
  }).finally(() => wake());
  const waitForLog = async (
    match: (line: Record<string, unknown>) => boolean,
    timeoutMs = 10_000,
  ) => {
    const deadline = Date.now() + timeoutMs;
    while (true) {
      const found = logs.find((l) => typeof l === "object" && match(l));
      if (found) return found as Record<string, unknown>;
      if (Date.now() > deadline) {
        throw new Error(
          `Timed out waiting for a log line; got:\n${
            logs.map((l) => JSON.stringify(l)).join("\n")
          }`,
        );
      }
      await new Promise<void>((resolve) => {
        wake = resolve;
        setTimeout(resolve, 50);
      });
    }
  };
  const status = child.status;
  const serving = await Promise.race([
    waitForLog((l) => l.msg === "dorgu-ws is serving", 20_000),
    status.then((s) => {
      throw new Error(
        `dorgu-ws exited with ${s.code} before serving:\n${logs.join("\n")}`,
      );
    }),
  ]);
  const port = Number(String(serving.addr).split(":").pop());
  return {
    child,
    port,
    logs,
    waitForLog,
    async stop(signal: Deno.Signal = "SIGTERM") {
      try {
        child.kill(signal);
      } catch {
        // Already gone.
      }
      return await status;
    },
  };
}

/** A server subprocess on a fresh copy of the example cluster. */
export interface ExampleServer extends AsyncDisposable {
  /** The copy of `examples/cluster` it serves; edit it to make events. */
  dir: string;
  /** The process. */
  server: ServerProcess;
  /** `ws://127.0.0.1:PORT/ws`. */
  url: string;
}

/**
 * Runs `dorgu-ws serve --source COPY ARGS` on a copy of the example
 * cluster; `await using` stops it.
 */
export async function spawnExample(
  args: string[] = [],
  options: LaunchOptions = {},
): Promise<ExampleServer> {
  const dir = await copyExamples();
  const server = await spawnServer(["--source", dir, ...args], options);
  return {
    dir,
    server,
    url: `ws://127.0.0.1:${server.port}/ws`,
    [Symbol.asyncDispose]: async () => {
      await server.stop();
    },
  };
}

/**
 * {@link spawnExample} with `--auth token`, accepting the bearer token
 * `token` alone (as the principal `ops`).
 */
export async function spawnGuardedExample(
  token = "s3cret",
): Promise<ExampleServer> {
  const tokens = await Deno.makeTempFile();
  await Deno.writeTextFile(tokens, `${token},ops\n`);
  return await spawnExample(["--auth", "token", "--token-file", tokens]);
}

/** A WebSocket URL on a loopback port where nothing listens. */
export function closedUrl(): string {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return `ws://127.0.0.1:${port}/ws`;
}

/** Runs `dorgu-ws ARGS` to completion, as the binary would. */
export async function runCli(
  args: string[],
  options: LaunchOptions & {
    timeoutMs?: number;
    /**
     * Why the server is not held to the contract: only for a fake that
     * breaks the protocol on purpose, to see what the client does with it.
     * Every frame a dorgu-ws server sends is checked.
     */
    offContract?: string;
  } = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  // Every frame the client received is checked against the contract.
  const frames = new FrameLog();
  const child = new Deno.Command(options.binary ?? Deno.execPath(), {
    ...command(args, { ...options, frames }),
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  // SIGKILL: the client stops cleanly on SIGTERM, so one that hangs while
  // stopping would hold the test for ever.
  const timer = setTimeout(() => {
    try {
      child.kill("SIGKILL");
    } catch {
      // Already gone.
    }
  }, options.timeoutMs ?? 20_000);
  const output = await child.output().finally(() => clearTimeout(timer));
  if (options.offContract === undefined) frames.check();
  else frames.discard();
  return {
    code: output.code,
    stdout: new TextDecoder().decode(output.stdout),
    stderr: new TextDecoder().decode(output.stderr),
  };
}

/** Resolves after `ms`. */
export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Retries `check` every 150 ms until it passes; throws its last failure. */
export async function eventually(
  check: () => Promise<void> | void,
  timeoutMs = 20_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (true) {
    try {
      await check();
      return;
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await delay(150);
    }
  }
}

/** Polls `/ready` under `url` (listening or not yet) until it answers 200. */
export async function waitReady(
  url: string,
  options: { timeoutMs?: number; pollMs?: number } = {},
): Promise<void> {
  const deadline = Date.now() + (options.timeoutMs ?? 20_000);
  while (true) {
    const response = await fetch(`${url}/ready`).catch(() => undefined);
    const body = await response?.text();
    if (response?.ok) return;
    if (Date.now() > deadline) throw new Error(`Not ready: ${body}`);
    await delay(options.pollMs ?? 100);
  }
}

/**
 * Replaces `from` with `to` in a file, failing if `from` is not there. The
 * new text is written beside it (a dot file, which the directory source
 * skips) and renamed over it, as editors save: a source polling the
 * directory never reads it half-written, which for an instant of a loaded
 * machine was an empty file and every object in it deleted.
 */
export async function editFile(
  path: string,
  edit: { from: string; to: string },
): Promise<void> {
  const { from, to } = edit;
  const text = await Deno.readTextFile(path);
  if (!text.includes(from)) throw new Error(`${path} does not contain ${from}`);
  const slash = path.lastIndexOf("/");
  const temp = `${path.slice(0, slash + 1)}.${path.slice(slash + 1)}.edit`;
  await Deno.writeTextFile(temp, text.replace(from, to));
  await Deno.rename(temp, path);
}
