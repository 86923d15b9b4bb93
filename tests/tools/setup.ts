/**
 * Everything `deno task test` needs before its parallel test files start,
 * done once: the system packages the tests drive (Chromium, buildah,
 * openssl, ldd), the Kubernetes binaries (tests/tools/ensure_assets.sh,
 * under a lock), and the compiled dorgu-ws binary (./compiled.ts).
 *
 *   deno run -A tests/tools/setup.ts
 *
 * As root on Debian it installs missing packages with apt-get; anywhere
 * else it stops with one line naming the command to run. Test files call
 * the same functions, which find the work done (or do it, under the same
 * locks, when a file is run on its own).
 *
 * @module
 */
import { cacheDir, run, withLock } from "./cache.ts";
import { compiledBinary, TESTED_DENO } from "./compiled.ts";

const ROOT = new URL("../../", import.meta.url).pathname;

/** Commands the tests run, and the Debian package of each. */
const COMMANDS: Record<string, string> = {
  chromium: "chromium",
  buildah: "buildah",
  openssl: "openssl",
  ldd: "libc-bin",
};

/** The absolute path of `command` on PATH, if it is there. */
export function onPath(command: string): string | undefined {
  for (const dir of (Deno.env.get("PATH") ?? "").split(":")) {
    if (!dir) continue;
    try {
      const info = Deno.statSync(`${dir}/${command}`);
      if (info.isFile && (info.mode ?? 0o111) & 0o111) {
        return `${dir}/${command}`;
      }
    } catch {
      // Not in this directory.
    }
  }
  return undefined;
}

function isDebian(): boolean {
  try {
    Deno.statSync("/etc/debian_version");
    return true;
  } catch {
    return false;
  }
}

/**
 * Installs the Debian packages of missing commands when running as root on
 * Debian; otherwise throws an error whose message names the command to run.
 */
export async function ensureSystemPackages(): Promise<void> {
  const missing = Object.keys(COMMANDS).filter((command) => !onPath(command));
  if (missing.length === 0) return;
  const packages = missing.map((command) => COMMANDS[command]);
  const install = `apt-get install -y ${packages.join(" ")}`;
  if (!isDebian()) {
    throw new Error(
      `Missing ${
        missing.join(", ")
      }: install them with the system's package manager (on Debian: ${install}).`,
    );
  }
  if (Deno.uid() !== 0) {
    throw new Error(
      `Missing ${missing.join(", ")}: run 'sudo ${install}'.`,
    );
  }
  await withLock("apt", async () => {
    const still = missing.filter((command) => !onPath(command));
    if (still.length === 0) return;
    console.error(`setup: apt-get install ${packages.join(" ")}`);
    const env = { DEBIAN_FRONTEND: "noninteractive" };
    await run("apt-get", ["update", "-qq"], { env });
    await run("apt-get", ["install", "-y", "-qq", ...packages], { env });
  });
}

/** The directory holding kube-apiserver, etcd and helm, built once. */
export async function ensureAssets(): Promise<string> {
  await cacheDir();
  const dir = await run("bash", [`${ROOT}tests/tools/ensure_assets.sh`], {
    inheritStderr: true,
  });
  return dir.trim();
}

/**
 * kubectl of the test kube-apiserver's version, built once: for the
 * benchmarks only, never for the tests.
 */
export async function ensureKubectl(): Promise<string> {
  await cacheDir();
  const path = await run(
    "bash",
    [`${ROOT}tests/tools/ensure_assets.sh`, "kubectl"],
    { inheritStderr: true },
  );
  return path.trim();
}

if (import.meta.main) {
  const started = performance.now();
  try {
    await ensureSystemPackages();
    const [assets, binary] = await Promise.all([
      ensureAssets(),
      compiledBinary(),
    ]);
    console.log(`setup: Kubernetes test binaries in ${assets}`);
    console.log(
      `setup: dorgu-ws compiled by Deno ${TESTED_DENO}: ${binary.path} (${
        (binary.bytes / 1e6).toFixed(1)
      } MB)`,
    );
  } catch (error) {
    console.error(`setup: ${(error as Error).message}`);
    Deno.exit(1);
  }
  console.log(
    `setup: ready in ${((performance.now() - started) / 1000).toFixed(1)} s`,
  );
}
