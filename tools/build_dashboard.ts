/**
 * `deno task dashboard`: bundles the dashboard's TypeScript
 * (`src/dashboard/main.ts` and what it imports: the protocol schemas and
 * valibot) into the one script the page loads, `src/dashboard/built/app.js`,
 * with `deno bundle` (esbuild underneath), minified.
 *
 *   deno task dashboard           write the bundle
 *   deno task dashboard --check   fail when the committed bundle is stale
 *
 * The bundle is committed, so `deno run main.ts`, `deno compile` and the
 * image build need no build step; a test runs `--check`.
 */
import { parseArgs } from "node:util";

/** The most the page's script may weigh, before compression. */
export const MAX_BUNDLE_BYTES = 100 * 1024;

const ROOT = new URL("../", import.meta.url).pathname;
/** The committed bundle. */
export const BUNDLE = `${ROOT}src/dashboard/built/app.js`;

/** Bundles the page's script and returns it. */
export async function bundleDashboard(): Promise<Uint8Array> {
  const dir = await Deno.makeTempDir({ prefix: "dorgu-ws-dashboard-" });
  try {
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
    return await Deno.readFile(output);
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
      `dashboard: the bundle is ${fresh.length} bytes, over the ${MAX_BUNDLE_BYTES} allowed; drop a dependency or some code.`,
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
