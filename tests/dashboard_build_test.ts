/**
 * The dashboard's build: the page's script imports only its own folder,
 * the protocol and the shared backoff (never the hub, the server, the
 * sources or the Kubernetes client), and the committed bundle is what the
 * sources build today, no bigger than the 42,771 bytes it weighed before
 * the client library.
 */
import assert from "node:assert/strict";
import {
  BUNDLE,
  bundleDashboard,
  MAX_BUNDLE_BYTES,
} from "../tools/build_dashboard.ts";
import { bundleReport } from "../tools/dashboard_report.ts";

const ROOT = new URL("../", import.meta.url).href;

/** What a page module may import, relative to the checkout. */
function allowedInPage(specifier: string): boolean {
  if (specifier.startsWith("npm:")) return /^npm:\/?valibot@/.test(specifier);
  if (!specifier.startsWith(ROOT)) return false;
  const path = specifier.slice(ROOT.length);
  // The client library, but not its runtime-specific TLS dialer, its
  // front door (which loads it) or the failure advice a browser has no use
  // for (it is told nothing of why a WebSocket did not open).
  if (
    ["src/client/tls.ts", "src/client/client.ts", "src/client/failures.ts"]
      .includes(path)
  ) return false;
  return path.startsWith("src/dashboard/") || path.startsWith("src/client/") ||
    path.startsWith("src/protocol/") || path === "src/retry.ts" ||
    path === "src/timer.ts";
}

Deno.test("the page imports only src/dashboard, src/client (not its TLS dialer), src/protocol, src/retry.ts, src/timer.ts and valibot", async () => {
  // The rule itself, on the kinds of modules it must refuse.
  for (
    const refused of [
      `${ROOT}src/hub/hub.ts`,
      `${ROOT}src/server/auth.ts`,
      `${ROOT}src/sources/store.ts`,
      `${ROOT}src/kube/client.ts`,
      `${ROOT}src/cli/events.ts`,
      `${ROOT}src/client/tls.ts`,
      `${ROOT}src/client/client.ts`,
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

Deno.test("the committed page script is what the sources build, and no bigger than before the client library (42,771 bytes)", async () => {
  assert.equal(MAX_BUNDLE_BYTES, 42_771);
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

Deno.test("deno task dashboard-report accounts for every byte of esbuild's script, by module and by declaration", async () => {
  const report = await bundleReport();
  assert.equal(report.finalBytes, (await Deno.readFile(BUNDLE)).length);
  assert.ok(report.finalBytes < report.esbuildBytes);
  const sum = (list: { bytes: number }[]) =>
    list.reduce((total, { bytes }) => total + bytes, 0);
  // Everything but the few bytes before the first mapped one.
  assert.ok(report.esbuildBytes - sum(report.modules) < 16);
  assert.equal(sum(report.declarations), report.esbuildBytes);
  const modules = report.modules.map((m) => m.source);
  for (const module of ["src/client/follow.ts", "src/dashboard/main.ts"]) {
    assert.ok(modules.includes(module), module);
  }
  assert.ok(modules.some((m) => m.startsWith("valibot/")), modules.join());
  assert.ok(
    report.declarations.some((d) =>
      /^src\/client\/follow\.ts:\d+ Follower$/.test(d.source)
    ),
  );
  assert.ok(!modules.some((m) => m.startsWith("src/server/")));
});
