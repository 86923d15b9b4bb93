/**
 * `deno task asyncapi`: writes the protocol's AsyncAPI 3.0 document,
 * generated from the valibot schemas (src/protocol/asyncapi.ts), to
 * docs/asyncapi.json, where integrators find it next to the README.
 *
 *   deno task asyncapi           write the document
 *   deno task asyncapi --check   fail when the committed document is stale
 *
 * @module
 */
import { parseArgs } from "node:util";
import { asyncApiText } from "../src/protocol/asyncapi.ts";

/** The committed document. */
export const DOCUMENT: URL = new URL("../docs/asyncapi.json", import.meta.url);

/** What to run when the committed document is stale. */
export const REGENERATE = "deno task asyncapi";

/** Whether the committed document is what the schemas generate today. */
export async function documentIsFresh(): Promise<boolean> {
  const committed = await Deno.readTextFile(DOCUMENT).catch(() => "");
  return committed === asyncApiText();
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: { check: { type: "boolean" } },
  });
  if (values.check) {
    if (!(await documentIsFresh())) {
      console.error(
        `asyncapi: docs/asyncapi.json is not what the schemas generate; run '${REGENERATE}' and commit it.`,
      );
      Deno.exit(1);
    }
    console.log("asyncapi: docs/asyncapi.json is up to date.");
  } else {
    const text = asyncApiText();
    await Deno.writeTextFile(DOCUMENT, text);
    console.log(`asyncapi: wrote docs/asyncapi.json (${text.length} bytes).`);
  }
}
