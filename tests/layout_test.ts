/**
 * The shape of src/: which folder may import which, no import cycles, and
 * files small enough to do one job. Read from the sources themselves
 * (static and dynamic imports), so a wrong-way import fails here before
 * anyone reviews it.
 */
import assert from "node:assert/strict";
import { dirname, join, relative, resolve } from "node:path";

const SRC = new URL("../src/", import.meta.url).pathname;

/** Folders each folder must not import from (top-level files are shared). */
const FORBIDDEN: Record<string, string[]> = {
  protocol: [
    "hub",
    "server",
    "sources",
    "kube",
    "cli",
    "transport",
    "dashboard",
    "client",
  ],
  transport: [
    "protocol",
    "hub",
    "server",
    "sources",
    "kube",
    "cli",
    "dashboard",
  ],
  hub: ["server", "sources", "kube", "cli", "dashboard"],
  sources: ["hub", "server", "cli", "transport", "dashboard"],
  kube: ["hub", "server", "sources", "cli", "transport", "dashboard"],
  // The one protocol client: runs in browsers and Node too, so it shares
  // only the protocol (and the top-level retry.ts).
  client: [
    "hub",
    "server",
    "sources",
    "kube",
    "cli",
    "transport",
    "dashboard",
  ],
  cli: ["hub", "server", "sources", "kube", "dashboard"],
  server: ["cli", "dashboard"],
  // The page shares only the protocol (tests/dashboard_build_test.ts also
  // holds it to retry.ts among the top-level files, and to valibot).
  dashboard: ["hub", "server", "sources", "kube", "cli", "transport"],
};

/** Files allowed to break a folder rule, and why. */
const EXCEPTIONS: Record<string, string> = {
  // The Kubernetes source is the one place sources meet the API client.
  "sources/kubernetes.ts -> kube": "the Kubernetes source",
};

function walk(dir: string): string[] {
  const files: string[] = [];
  for (const entry of Deno.readDirSync(dir)) {
    const path = join(dir, entry.name);
    if (entry.isDirectory) files.push(...walk(path));
    else if (entry.name.endsWith(".ts")) files.push(path);
  }
  return files;
}

function importsOf(file: string): string[] {
  const text = Deno.readTextFileSync(file);
  const specifiers = [
    ...text.matchAll(/^\s*(?:import|export)\b[^;]*?from\s+"([^"]+)"/gms),
    ...text.matchAll(/\bimport\(\s*"([^"]+)"\s*\)/g),
  ].map((m) => m[1]);
  return specifiers.filter((s) => s.startsWith("."))
    .map((s) => resolve(dirname(file), s))
    .filter((path) => path.startsWith(SRC));
}

const FILES = walk(SRC);
const GRAPH = new Map(FILES.map((file) => [file, importsOf(file)]));
const folderOf = (file: string) => {
  const parts = relative(SRC, file).split("/");
  return parts.length > 1 ? parts[0] : "";
};

Deno.test("layout: no folder imports from a folder it must not", () => {
  const wrong: string[] = [];
  for (const [file, imports] of GRAPH) {
    const from = folderOf(file);
    for (const target of imports) {
      const to = folderOf(target);
      if (!(FORBIDDEN[from] ?? []).includes(to)) continue;
      if (EXCEPTIONS[`${relative(SRC, file)} -> ${to}`]) continue;
      wrong.push(`${relative(SRC, file)} imports ${relative(SRC, target)}`);
    }
  }
  assert.deepEqual(wrong, []);
});

Deno.test("layout: the rules catch a wrong-way import", () => {
  // The checker itself must be able to fail: a sources file importing the
  // hub is exactly what the rules forbid.
  const probe = join(SRC, "sources", "store.ts");
  const from = folderOf(probe);
  assert.ok(FORBIDDEN[from].includes(folderOf(join(SRC, "hub", "hub.ts"))));
  assert.ok(FORBIDDEN.hub.includes("server"));
  assert.ok(FORBIDDEN.protocol.length >= 6);
});

Deno.test("layout: no import cycles", () => {
  const state = new Map<string, "visiting" | "done">();
  const cycles: string[] = [];
  const visit = (file: string, path: string[]) => {
    if (state.get(file) === "done") return;
    if (state.get(file) === "visiting") {
      const loop = path.slice(path.indexOf(file)).concat(file);
      cycles.push(loop.map((f) => relative(SRC, f)).join(" -> "));
      return;
    }
    state.set(file, "visiting");
    for (const next of GRAPH.get(file) ?? []) visit(next, [...path, file]);
    state.set(file, "done");
  };
  for (const file of FILES) visit(file, []);
  assert.deepEqual(cycles, []);
});

Deno.test("layout: every file stays small enough to do one job", () => {
  const large = FILES.map((file) => ({
    file: relative(SRC, file),
    lines: Deno.readTextFileSync(file).split("\n").length,
  })).filter(({ lines }) => lines > 420);
  assert.deepEqual(large, []);
});
