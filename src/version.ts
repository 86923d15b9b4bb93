import manifest from "../deno.json" with { type: "json" };

/** The dorgu-ws version, stamped from `deno.json` into every build. */
export const VERSION: string = manifest.version;
