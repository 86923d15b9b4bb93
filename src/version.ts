/**
 * What this build is: the version from `deno.json`, the commit it was built
 * from, and the Deno runtime and target it runs on. The client's `version`
 * command prints it and the server answers it on `GET /version`.
 *
 * @module
 */
import manifest from "../deno.json" with { type: "json" };

/** The dorgu-ws version, stamped from `deno.json` into every build. */
export const VERSION: string = manifest.version;

/** The build, as `dorgu-ws version` prints it and `/version` answers it. */
export interface BuildInfo {
  /** The dorgu-ws version, e.g. `0.1.0`. */
  version: string;
  /** The git commit built, or `unknown` for a build that was not stamped. */
  commit: string;
  /** The Deno runtime's version. */
  deno: string;
  /** The target triple, e.g. `x86_64-unknown-linux-gnu`. */
  target: string;
}

/**
 * The file a release build stamps with the commit (one line, the hash) and
 * embeds; a checkout without it reports `unknown`.
 */
export const COMMIT_FILE: URL = new URL("./commit.txt", import.meta.url);

/** This build's {@link BuildInfo}. */
export function buildInfo(): BuildInfo {
  return {
    version: VERSION,
    commit: stampedCommit(),
    deno: Deno.version.deno,
    target: Deno.build.target,
  };
}

function stampedCommit(): string {
  try {
    const text = Deno.readTextFileSync(COMMIT_FILE).trim();
    return /^[0-9a-f]{7,64}$/.test(text) ? text : "unknown";
  } catch {
    return "unknown";
  }
}
