/**
 * The dashboard's build: the page's script imports only its own folder,
 * the protocol, the shared backoff and timers (never the hub, the server, the
 * sources or the Kubernetes client), and the committed bundle is what the
 * sources build today, within its size budget.
 */
import assert from "node:assert/strict";
import {
  BUNDLE,
  bundleDashboard,
  MAX_BUNDLE_BYTES,
} from "../tools/build_dashboard.ts";

const ROOT = new URL("../", import.meta.url).href;

/** What a page module may import, relative to the checkout. */
function allowedInPage(specifier: string): boolean {
  if (specifier.startsWith("npm:")) return /^npm:\/?valibot@/.test(specifier);
  if (!specifier.startsWith(ROOT)) return false;
  const path = specifier.slice(ROOT.length);
  return path.startsWith("src/dashboard/") ||
    path.startsWith("src/protocol/") || path === "src/retry.ts" ||
    path === "src/timer.ts";
}

Deno.test("the page imports only src/dashboard, src/protocol, src/retry.ts, src/timer.ts and valibot", async () => {
  // The rule itself, on the kinds of modules it must refuse.
  for (
    const refused of [
      `${ROOT}src/hub/hub.ts`,
      `${ROOT}src/server/auth.ts`,
      `${ROOT}src/sources/store.ts`,
      `${ROOT}src/kube/client.ts`,
      `${ROOT}src/cli/events.ts`,
      "npm:/@kubernetes/client-node@2.0.1",
      "https://esm.sh/preact",
    ]
  ) assert.equal(allowedInPage(refused), false, refused);
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json", "src/dashboard/main.ts"],
    cwd: new URL(ROOT).pathname,
    stdout: "piped",
  }).output();
  assert.ok(output.success);
  const { modules } = JSON.parse(new TextDecoder().decode(output.stdout)) as {
    modules: { specifier: string }[];
  };
  const specifiers = modules.map((m) => m.specifier);
  assert.ok(specifiers.some((s) => s.endsWith("src/protocol/payloads.ts")));
  assert.deepEqual(specifiers.filter((s) => !allowedInPage(s)), []);
});

Deno.test("the committed page script is what the sources build, and under 100 KB", async () => {
  const fresh = await bundleDashboard();
  const committed = await Deno.readFile(BUNDLE);
  assert.ok(
    fresh.length <= MAX_BUNDLE_BYTES,
    `${fresh.length} bytes > ${MAX_BUNDLE_BYTES}`,
  );
  assert.ok(
    committed.length === fresh.length &&
      committed.every((byte, i) => byte === fresh[i]),
    "src/dashboard/built/app.js is stale: run 'deno task dashboard' and commit it.",
  );
});
