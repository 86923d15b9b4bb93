/**
 * The test set-up's cache (DORGU_WS_CACHE, default ~/.cache/dorgu-ws), the
 * lock that makes concurrent runs build each thing once, and the command
 * runner the set-up steps share.
 *
 * @module
 */

/** The cache directory, created if missing. */
export async function cacheDir(): Promise<string> {
  const dir = Deno.env.get("DORGU_WS_CACHE") ??
    `${Deno.env.get("HOME")}/.cache/dorgu-ws`;
  await Deno.mkdir(dir, { recursive: true });
  return dir;
}

/**
 * Runs `fn` holding an exclusive flock(2) on `$CACHE/NAME.lock`. A second
 * run (another `deno task test`, another test file) waits here and then
 * finds the work done; the kernel drops the lock if a holder dies.
 */
export async function withLock<T>(
  name: string,
  fn: () => Promise<T>,
): Promise<T> {
  const file = await Deno.open(`${await cacheDir()}/${name}.lock`, {
    create: true,
    write: true,
  });
  const waiting = setTimeout(
    () => console.error(`setup: waiting for another run's ${name} lock`),
    1000,
  );
  try {
    await file.lock(true);
    clearTimeout(waiting);
    return await fn();
  } finally {
    clearTimeout(waiting);
    file.close();
  }
}

/** Options for {@link run}. */
export interface RunOptions {
  /** Working directory. */
  cwd?: string;
  /** Extra environment variables. */
  env?: Record<string, string>;
  /** Let the command's stderr through (progress of long builds). */
  inheritStderr?: boolean;
}

/** Runs a command to completion; resolves with its stdout, throws with its stderr. */
export async function run(
  command: string,
  args: string[],
  options: RunOptions = {},
): Promise<string> {
  const output = await new Deno.Command(command, {
    args,
    cwd: options.cwd,
    env: options.env,
    stdout: "piped",
    stderr: options.inheritStderr ? "inherit" : "piped",
  }).output();
  if (!output.success) {
    throw new Error(
      `${command} ${args.join(" ")} failed (exit ${output.code}):\n${
        new TextDecoder().decode(output.stderr)
      }`,
    );
  }
  return new TextDecoder().decode(output.stdout);
}

/** The SHA-256 of `bytes`, in hex. */
export async function sha256(bytes: Uint8Array<ArrayBuffer>): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", bytes);
  return Array.from(
    new Uint8Array(digest),
    (b) => b.toString(16).padStart(2, "0"),
  )
    .join("");
}
