/**
 * `deno task compile`: the dorgu-ws binary for Linux (x86_64, aarch64) and
 * macOS (x86_64, aarch64), into dist/, with exactly the runtime
 * permissions and V8 flags of tools/permissions.ts and the demo cluster
 * embedded. The version comes from deno.json (the `version` command reads
 * it).
 *
 *   deno task compile [--target TRIPLE]... [--output PATH] [--dry-run]
 *
 * The build runs in a staging copy with a local node_modules that holds
 * only the npm packages main.ts reaches (the lockfile also pins the tests'
 * browser driver), less their source maps and type declarations: the
 * runtime never reads them, and they would double the binary's size.
 *
 * Every `deno` this task starts (check, install, info, compile) is the one
 * on PATH, so a test can build with another Deno by putting it first there.
 * `deno compile` fetches a runtime stub per target from Deno's release
 * host; where that host is unreachable, point DENORT_BIN at a denort
 * binary for the target.
 *
 * @module
 */
import { parseArgs } from "node:util";
import {
  EMBEDDED_FILES,
  LAZY_MODULES,
  RUNTIME_PERMISSIONS,
  V8_FLAGS_ARG,
} from "./permissions.ts";

/** Targets and the file names their binaries get. */
export const TARGETS: Record<string, string> = {
  "x86_64-unknown-linux-gnu": "dorgu-ws-linux-x86_64",
  "aarch64-unknown-linux-gnu": "dorgu-ws-linux-aarch64",
  "x86_64-apple-darwin": "dorgu-ws-macos-x86_64",
  "aarch64-apple-darwin": "dorgu-ws-macos-aarch64",
};

/** The `deno compile` arguments for one target. */
export function compileArgs(target: string, output: string): string[] {
  return [
    "compile",
    // Types are checked before staging, where the declarations are gone.
    "--no-check",
    ...RUNTIME_PERMISSIONS,
    V8_FLAGS_ARG,
    ...[...EMBEDDED_FILES, ...LAZY_MODULES].flatMap((path) => [
      "--include",
      path,
    ]),
    "--target",
    target,
    "--output",
    output,
    "main.ts",
  ];
}

/** What goes into the binary: the entry point, its sources, the demo. */
export const SOURCES: readonly string[] = [
  "deno.json",
  "deno.lock",
  "main.ts",
  "src",
  ...EMBEDDED_FILES,
];

// npm packages carry source maps and type declarations the runtime never
// reads; for some packages they are more than half their size.
const UNUSED_AT_RUN_TIME = /\.(map|d\.ts|d\.mts|d\.cts)$/;

/**
 * The npm package folders (`name@version`, as node_modules/.deno names
 * them) main.ts and the lazily imported modules reach.
 */
async function reachablePackages(dir: string): Promise<Set<string>> {
  const reached = new Set<string>();
  for (const entry of ["main.ts", ...LAZY_MODULES]) {
    for (const folder of await packagesOf(dir, entry)) reached.add(folder);
  }
  return reached;
}

async function packagesOf(dir: string, entry: string): Promise<string[]> {
  const info = await new Deno.Command("deno", {
    args: ["info", "--json", entry],
    cwd: dir,
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!info.success) {
    throw new Error(
      `deno info failed:\n${new TextDecoder().decode(info.stderr)}`,
    );
  }
  // npmPackages lists every package of the lockfile; the modules list says
  // which of them the module graph imports.
  const graph = JSON.parse(new TextDecoder().decode(info.stdout)) as {
    modules: { npmPackage?: string }[];
    npmPackages: Record<
      string,
      { name: string; version: string; dependencies: string[] }
    >;
  };
  const reached = new Set<string>();
  const visit = (id: string) => {
    if (reached.has(id) || !graph.npmPackages[id]) return;
    reached.add(id);
    graph.npmPackages[id].dependencies.forEach(visit);
  };
  for (const module of graph.modules) {
    if (module.npmPackage) visit(module.npmPackage);
  }
  return [...reached].map((id) => {
    const { name, version } = graph.npmPackages[id];
    return `${name.replace("/", "+")}@${version}`;
  });
}

/**
 * Copies the sources into `dir` with a local node_modules, and removes from
 * it what the binary does not need, so `deno compile` embeds less.
 */
async function stage(root: string, dir: string): Promise<void> {
  const copy = async (from: string, to: string) => {
    const info = await Deno.stat(from);
    if (!info.isDirectory) {
      await Deno.mkdir(to.slice(0, to.lastIndexOf("/")), { recursive: true });
      await Deno.copyFile(from, to);
      return;
    }
    for await (const entry of Deno.readDir(from)) {
      await copy(`${from}/${entry.name}`, `${to}/${entry.name}`);
    }
  };
  for (const path of SOURCES) await copy(`${root}${path}`, `${dir}/${path}`);
  const manifest = JSON.parse(await Deno.readTextFile(`${dir}/deno.json`));
  manifest.nodeModulesDir = "auto";
  await Deno.writeTextFile(
    `${dir}/deno.json`,
    JSON.stringify(manifest, null, 2),
  );
  const install = await new Deno.Command("deno", {
    args: ["install", "--frozen"],
    cwd: dir,
    stdout: "null",
    stderr: "piped",
  }).output();
  if (!install.success) {
    throw new Error(
      `deno install failed:\n${new TextDecoder().decode(install.stderr)}`,
    );
  }
  const reachable = await reachablePackages(dir);
  for await (const entry of Deno.readDir(`${dir}/node_modules/.deno`)) {
    // Deno suffixes _1, _2 to copies that differ in peer dependencies.
    const folder = entry.name.replace(/_\d+$/, "");
    if (
      entry.isDirectory && folder.includes("@", 1) && !reachable.has(folder)
    ) {
      await Deno.remove(`${dir}/node_modules/.deno/${entry.name}`, {
        recursive: true,
      });
    }
  }
  const prune = async (path: string) => {
    for await (const entry of Deno.readDir(path)) {
      const child = `${path}/${entry.name}`;
      if (entry.isDirectory) await prune(child);
      else if (entry.isFile && UNUSED_AT_RUN_TIME.test(entry.name)) {
        await Deno.remove(child);
      } else if (
        entry.isSymlink &&
        !(await Deno.stat(child).then(() => true, () => false))
      ) {
        // A link to a package removed above.
        await Deno.remove(child);
      }
    }
  };
  await prune(`${dir}/node_modules`);
  // From here on node_modules is used as it is: in "auto" mode `deno
  // compile` would put back what was removed.
  manifest.nodeModulesDir = "manual";
  await Deno.writeTextFile(
    `${dir}/deno.json`,
    JSON.stringify(manifest, null, 2),
  );
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      target: { type: "string", multiple: true },
      output: { type: "string" },
      "dry-run": { type: "boolean" },
    },
  });
  const targets = values.target ?? Object.keys(TARGETS);
  for (const target of targets) {
    if (!(target in TARGETS)) {
      console.error(
        `compile: unknown target ${target}; known: ${
          Object.keys(TARGETS).join(", ")
        }.`,
      );
      Deno.exit(2);
    }
  }
  if (values.output && targets.length !== 1) {
    console.error("compile: --output needs exactly one --target.");
    Deno.exit(2);
  }
  const root = new URL("../", import.meta.url).pathname;
  const staging = values["dry-run"]
    ? ""
    : await Deno.makeTempDir({ prefix: "dorgu-ws-compile-" });
  try {
    if (staging) {
      const check = await new Deno.Command("deno", {
        args: ["check", "main.ts"],
        cwd: root,
      }).output();
      if (!check.success) {
        console.error("compile: main.ts does not type-check (see above).");
        Deno.exit(1);
      }
      await stage(root, staging);
    }
    for (const target of targets) {
      const output = values.output ?? `dist/${TARGETS[target]}`;
      const absolute = output.startsWith("/") ? output : `${root}${output}`;
      const args = compileArgs(target, absolute);
      console.log(`deno ${compileArgs(target, output).join(" ")}`);
      if (values["dry-run"]) continue;
      const result = await new Deno.Command("deno", {
        args,
        cwd: staging,
        stderr: "piped",
      }).output();
      const stderr = new TextDecoder().decode(result.stderr);
      if (!result.success) {
        const unreachable =
          /download|dl\.deno\.land|error sending request|dns error/i.test(
            stderr,
          );
        console.error(
          unreachable
            ? `compile: deno compile could not fetch its runtime stub for ${target}; build where dl.deno.land is reachable, or set DENORT_BIN to a denort binary for ${target}.`
            : `compile: deno compile failed for ${target}:\n${stderr}`,
        );
        Deno.exit(1);
      }
      console.log(`built ${output}`);
    }
  } finally {
    if (staging) await Deno.remove(staging, { recursive: true });
  }
}
