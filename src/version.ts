/** The dorgu-ws version; release builds stamp it from deno.json. */
export const VERSION = "0.1.0";
