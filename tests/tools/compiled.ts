/**
 * The real dorgu-ws binary for the tests, built by the project's compile
 * task from the current sources.
 *
 * `deno compile` needs a runtime stub (`denort`) matching the Deno that
 * compiles, and Deno's release host, where stubs normally come from, is
 * out of reach. The npm registry has Deno 2.7.11 itself and, inside
 * programs published as `deno compile` output, its denort: the part of
 * such a program up to the end of its ELF section table. So the tested
 * binary is built by Deno 2.7.11 with that stub; both are pinned here by
 * version, by the registry's tarball integrity and by the SHA-256 of the
 * file that runs, and cached under DORGU_WS_CACHE by version.
 *
 * The binary itself is cached by a hash of everything that goes into it,
 * so each change to the sources is compiled once.
 *
 * @module
 */
import { SOURCES } from "../../tools/compile.ts";
import { cacheDir, run, sha256, withLock } from "./cache.ts";

const ROOT = new URL("../../", import.meta.url).pathname;

/** The Deno release that builds the tested binary. */
export const TESTED_DENO = "2.7.11";

const TARGET = "x86_64-unknown-linux-gnu";

/** An npm package holding one file the build runs, pinned three ways. */
interface Pinned {
  name: string;
  version: string;
  /** The registry's integrity of the tarball, as Deno's lockfile records it. */
  integrity: string;
  /** The file inside the package. */
  file: string;
  /** SHA-256 of what is run: the file, or the denort cut out of it. */
  sha256: string;
}

const DENO: Pinned = {
  name: "@deno/linux-x64-glibc",
  version: TESTED_DENO,
  integrity:
    "sha512-TCRXqy4rHI+pKmWfjIz/qfDyfTz61qhxj+03kEJ3r0YzRGsXNoHyE7WiUawwUK2hbrBAu7hn3m5833VUYqRzOg==",
  file: "deno",
  sha256: "e518fbc96877fbc2b37820ec54a02e473166cb25a5d4d627ffde37360fd7d210",
};

// A CLI published with `deno compile` on Deno 2.7.11 (MIT licensed).
const DENORT_CARRIER: Pinned = {
  name: "@stdy/cli-linux-x64",
  version: "0.22.2",
  integrity:
    "sha512-kp5QdG26EC8gEzVXI0YgzmiiFHz7DFCNRLNfAWa2rDPHr/jUBnfkP8AlbTPmv0YNQpnKn1wzSWHFw88fn/OTog==",
  file: "bin/steady",
  sha256: "f12d5d3886d5ea138304fb8d67d7396cfbedf53656676132152cb89f3fa4d8e6",
};

/** Deno 2.7.11 and its denort, ready to compile with. */
interface Toolchain {
  /** A directory whose `deno` is Deno 2.7.11. */
  bin: string;
  /** The denort to pass as DENORT_BIN. */
  denort: string;
  /** The DENO_DIR the build uses. */
  denoDir: string;
}

/** A compiled dorgu-ws. */
export interface CompiledBinary {
  /** Absolute path of the executable. */
  path: string;
  /** Its size in bytes. */
  bytes: number;
}

/**
 * The part of an ELF file up to the end of its section table: for a
 * `deno compile` output, the denort it was built on, without the program.
 */
function elfPrefix(bytes: Uint8Array<ArrayBuffer>): Uint8Array<ArrayBuffer> {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const isElf64 = view.getUint32(0) === 0x7f454c46 && bytes[4] === 2;
  if (!isElf64) throw new Error("The denort carrier is not a 64-bit ELF file.");
  const sectionTable = Number(view.getBigUint64(0x28, true));
  const entrySize = view.getUint16(0x3a, true);
  const entries = view.getUint16(0x3c, true);
  return bytes.slice(0, sectionTable + entrySize * entries);
}

async function verified(
  pinned: Pinned,
  bytes: Uint8Array<ArrayBuffer>,
): Promise<Uint8Array<ArrayBuffer>> {
  const actual = await sha256(bytes);
  if (actual !== pinned.sha256) {
    throw new Error(
      `${pinned.name}@${pinned.version} ${pinned.file}: SHA-256 ${actual}, expected ${pinned.sha256}; the registry's package changed, so it is not used.`,
    );
  }
  return bytes;
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch {
    return false;
  }
}

/** Deno 2.7.11 and its denort, fetched through Deno's npm client once. */
async function toolchain(): Promise<Toolchain> {
  const dir = `${await cacheDir()}/toolchain-deno-${TESTED_DENO}`;
  const tools: Toolchain = {
    bin: `${dir}/bin`,
    denort: `${dir}/denort`,
    denoDir: `${dir}/deno-dir`,
  };
  if (await exists(tools.denort)) return tools;
  return await withLock("toolchain", async () => {
    if (await exists(tools.denort)) return tools;
    console.error(
      `setup: fetching Deno ${TESTED_DENO} and its denort from the npm registry`,
    );
    const work = await Deno.makeTempDir({ prefix: "dorgu-ws-toolchain-" });
    try {
      await Deno.writeTextFile(
        `${work}/package.json`,
        JSON.stringify({
          private: true,
          dependencies: Object.fromEntries(
            [DENO, DENORT_CARRIER].map((p) => [p.name, p.version]),
          ),
        }),
      );
      await run(Deno.execPath(), ["install", "--node-modules-dir=auto"], {
        cwd: work,
        env: { DENO_DIR: tools.denoDir },
      });
      const lock = JSON.parse(await Deno.readTextFile(`${work}/deno.lock`));
      for (const pinned of [DENO, DENORT_CARRIER]) {
        const integrity = lock.npm?.[`${pinned.name}@${pinned.version}`]
          ?.integrity;
        if (integrity !== pinned.integrity) {
          throw new Error(
            `${pinned.name}@${pinned.version}: tarball integrity ${integrity}, expected ${pinned.integrity}.`,
          );
        }
      }
      const read = (p: Pinned) =>
        Deno.readFile(`${work}/node_modules/${p.name}/${p.file}`);
      const deno = await verified(DENO, await read(DENO));
      const denort = await verified(
        DENORT_CARRIER,
        elfPrefix(await read(DENORT_CARRIER)),
      );
      await Deno.mkdir(tools.bin, { recursive: true });
      await Deno.writeFile(`${tools.bin}/deno`, deno, { mode: 0o755 });
      // Written last: its presence says the toolchain is complete.
      await Deno.writeFile(`${tools.denort}.partial`, denort, { mode: 0o755 });
      await Deno.rename(`${tools.denort}.partial`, tools.denort);
      return tools;
    } finally {
      await Deno.remove(work, { recursive: true });
    }
  });
}

/** The environment under which Deno 2.7.11 compiles. */
async function buildEnv(tools: Toolchain): Promise<Record<string, string>> {
  const caBundle = "/etc/ssl/certs/ca-certificates.crt";
  return {
    // The compile task runs the `deno` first on PATH.
    PATH: `${tools.bin}:${Deno.env.get("PATH") ?? ""}`,
    DENORT_BIN: tools.denort,
    DENO_DIR: tools.denoDir,
    // Deno 2.7 reaches the npm registry only through the system's CAs.
    ...(!Deno.env.get("DENO_CERT") && await exists(caBundle)
      ? { DENO_CERT: caBundle }
      : {}),
  };
}

/**
 * Deno 2.7.11 and the environment that makes its `deno compile` use the
 * pinned denort: for tests that compile a program of their own on the
 * runtime the binary runs on.
 */
export async function testedDeno(): Promise<
  { deno: string; env: Record<string, string> }
> {
  const tools = await toolchain();
  return { deno: `${tools.bin}/deno`, env: await buildEnv(tools) };
}

/** Every file under `path` (a file or a directory), sorted. */
async function filesUnder(path: string): Promise<string[]> {
  const info = await Deno.stat(`${ROOT}${path}`);
  if (!info.isDirectory) return [path];
  const files: string[] = [];
  for await (const entry of Deno.readDir(`${ROOT}${path}`)) {
    files.push(...await filesUnder(`${path}/${entry.name}`));
  }
  return files.sort();
}

/** A hash of everything the binary is built from: sources, build tools, Deno. */
async function sourceHash(): Promise<string> {
  const inputs = [...SOURCES, "tools/compile.ts", "tools/permissions.ts"];
  const parts: Uint8Array[] = [
    new TextEncoder().encode(`deno ${TESTED_DENO} ${DENORT_CARRIER.sha256}\0`),
  ];
  for (const input of inputs) {
    for (const file of await filesUnder(input)) {
      parts.push(new TextEncoder().encode(`${file}\0`));
      parts.push(await Deno.readFile(`${ROOT}${file}`));
      parts.push(new Uint8Array(1));
    }
  }
  const all = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const part of parts) {
    all.set(part, offset);
    offset += part.length;
  }
  return (await sha256(all)).slice(0, 16);
}

// Builds of other source trees (branches, checkouts) kept besides this one.
const KEEP_BUILDS = 4;

/**
 * The dorgu-ws binary for the current sources: built by `deno task
 * compile` with Deno 2.7.11 first on PATH and its denort as DENORT_BIN, or
 * taken from the cache when these sources were built before. Linux x86_64
 * only: the one platform both pinned packages exist for.
 */
export async function compiledBinary(): Promise<CompiledBinary> {
  if (Deno.build.os !== "linux" || Deno.build.arch !== "x86_64") {
    throw new Error(
      `The compiled-binary tests run on Linux x86_64 only (this is ${Deno.build.os} ${Deno.build.arch}).`,
    );
  }
  const dir = `${await cacheDir()}/binaries`;
  const path = `${dir}/dorgu-ws-${await sourceHash()}`;
  const found = async () => {
    const info = await Deno.stat(path).catch(() => undefined);
    return info ? { path, bytes: info.size } : undefined;
  };
  const cached = await found();
  if (cached) return cached;
  const tools = await toolchain();
  return await withLock("binary", async () => {
    const built = await found();
    if (built) return built;
    await Deno.mkdir(dir, { recursive: true });
    const started = performance.now();
    const partial = `${path}.partial-${Deno.pid}`;
    await run(Deno.execPath(), [
      "task",
      "compile",
      "--target",
      TARGET,
      "--output",
      partial,
    ], { cwd: ROOT, env: await buildEnv(tools) });
    await Deno.rename(partial, path);
    console.error(
      `setup: compiled ${path} with Deno ${TESTED_DENO} in ${
        ((performance.now() - started) / 1000).toFixed(0)
      } s`,
    );
    await pruneBuilds(dir, path);
    return (await found())!;
  });
}

async function pruneBuilds(dir: string, current: string): Promise<void> {
  const builds: { path: string; mtime: number }[] = [];
  for await (const entry of Deno.readDir(dir)) {
    const path = `${dir}/${entry.name}`;
    if (path === current) continue;
    const info = await Deno.stat(path);
    builds.push({ path, mtime: info.mtime?.getTime() ?? 0 });
  }
  builds.sort((a, b) => b.mtime - a.mtime);
  for (const old of builds.slice(KEEP_BUILDS)) {
    await Deno.remove(old.path).catch(() => {});
  }
}
