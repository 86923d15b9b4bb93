/**
 * `deno task dashboard`: bundles the dashboard's TypeScript
 * (`src/dashboard/main.ts` and what it imports: the client library, the
 * protocol schemas and valibot) into the one script the page loads,
 * `src/dashboard/built/app.js`, with `deno bundle` (esbuild underneath),
 * minified, then compressed once more by terser (a pinned version, so the
 * same sources always give the same bytes).
 *
 *   deno task dashboard           write the bundle
 *   deno task dashboard --check   fail when the committed bundle is stale
 *
 * The bundle is committed, so `deno run main.ts`, `deno compile` and the
 * image build need no build step; a test runs `--check`.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { minify, type MinifyOptions } from "terser";

/**
 * The most the page's script may weigh, before compression: what it
 * weighed before the client library (issue 18), which it must not outgrow.
 */
export const MAX_BUNDLE_BYTES = 42_771;

// Terser's compressor over esbuild's minified output, which it shortens
// further (single-use functions and constants inlined, statements joined);
// esbuild's short names are kept, as renaming them again made the script
// longer. Measured in README's "How it is built".
const TERSER: MinifyOptions = {
  module: true,
  compress: { passes: 2 },
  mangle: false,
  format: { comments: false },
};

const ROOT = new URL("../", import.meta.url).pathname;
/** The committed bundle. */
export const BUNDLE = `${ROOT}src/dashboard/built/app.js`;

/**
 * Runs `deno bundle` (esbuild, minified) on the page into `dir`, with an
 * external source map beside it when `sourceMap`; returns the script's path.
 */
export async function esbuildPage(
  dir: string,
  options: { sourceMap?: boolean } = {},
): Promise<string> {
  const output = `${dir}/app.js`;
  const result = await new Deno.Command(Deno.execPath(), {
    args: [
      "bundle",
      "--quiet",
      "--platform",
      "browser",
      "--format",
      "esm",
      "--minify",
      ...options.sourceMap ? ["--sourcemap", "external"] : [],
      "--output",
      output,
      `${ROOT}src/dashboard/main.ts`,
    ],
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!result.success) {
    throw new Error(
      `deno bundle failed:\n${new TextDecoder().decode(result.stderr)}`,
    );
  }
  return output;
}

/** Bundles the page's script and returns it. */
export async function bundleDashboard(): Promise<Uint8Array> {
  const dir = await Deno.makeTempDir({ prefix: "dorgu-ws-dashboard-" });
  try {
    const script = await Deno.readTextFile(await esbuildPage(dir));
    const { code } = await minify(script, TERSER);
    return new TextEncoder().encode(`${code}\n`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: { check: { type: "boolean" } },
  });
  const fresh = await bundleDashboard();
  if (fresh.length > MAX_BUNDLE_BYTES) {
    console.error(
      `dashboard: the bundle is ${fresh.length} bytes, over the ${MAX_BUNDLE_BYTES} allowed (what it weighed before the client library); 'deno task dashboard-report' says what it is made of.`,
    );
    Deno.exit(1);
  }
  if (values.check) {
    const committed = await Deno.readFile(BUNDLE).catch(() => new Uint8Array());
    if (
      committed.length !== fresh.length ||
      !committed.every((b, i) => b === fresh[i])
    ) {
      console.error(
        "dashboard: src/dashboard/built/app.js is not what the sources build; run 'deno task dashboard' and commit it.",
      );
      Deno.exit(1);
    }
    console.log(`dashboard: the bundle is up to date (${fresh.length} bytes).`);
  } else {
    await Deno.writeFile(BUNDLE, fresh);
    console.log(
      `dashboard: wrote src/dashboard/built/app.js (${fresh.length} bytes).`,
    );
  }
}
