/**
 * `deno task compile`: the dorgu-ws binary for Linux (x86_64, aarch64) and
 * macOS (x86_64, aarch64), into dist/, with exactly the runtime
 * permissions of tools/permissions.ts and the demo cluster embedded. The
 * version comes from deno.json (the `version` command reads it).
 *
 *   deno task compile [--target TRIPLE]... [--output PATH] [--dry-run]
 *
 * `deno compile` fetches a runtime stub per target from Deno's release
 * host; where that host is unreachable, point DENORT_BIN at a denort
 * binary for the target.
 */
import { parseArgs } from "node:util";
import { EMBEDDED_FILES, RUNTIME_PERMISSIONS } from "./permissions.ts";

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
    ...RUNTIME_PERMISSIONS,
    ...EMBEDDED_FILES.flatMap((path) => ["--include", path]),
    "--target",
    target,
    "--output",
    output,
    "main.ts",
  ];
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
  for (const target of targets) {
    const output = values.output ?? `dist/${TARGETS[target]}`;
    const args = compileArgs(target, output);
    console.log(`deno ${args.join(" ")}`);
    if (values["dry-run"]) continue;
    const result = await new Deno.Command("deno", {
      args,
      cwd: root,
      stderr: "piped",
    }).output();
    const stderr = new TextDecoder().decode(result.stderr);
    if (!result.success) {
      const unreachable =
        /download|dl\.deno\.land|error sending request|dns error/i.test(stderr);
      console.error(
        unreachable
          ? `compile: deno compile could not fetch its runtime stub for ${target}; build where dl.deno.land is reachable, or set DENORT_BIN to a denort binary for ${target}.`
          : `compile: deno compile failed for ${target}:\n${stderr}`,
      );
      Deno.exit(1);
    }
    console.log(`built ${output}`);
  }
}
