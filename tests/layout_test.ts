/**
 * The shape of src/: which folder may import which, no import cycles, and
 * files small enough to do one job. Read from the sources themselves
 * (static and dynamic imports), so a wrong-way import fails here before
 * anyone reviews it.
 */
import assert from "node:assert/strict";
import { dirname, join, relative, resolve } from "node:path";
import { LAZY_MODULES } from "../tools/permissions.ts";

const SRC = new URL("../src/", import.meta.url).pathname;

const FOLDERS = [
  "protocol",
  "transport",
  "hub",
  "sources",
  "kube",
  "server",
  "local",
  "cli",
  "client",
  "dashboard",
];

/** Every folder but `folder` and those it may import. */
const allBut = (folder: string, ...allowed: string[]) =>
  FOLDERS.filter((f) => f !== folder && !allowed.includes(f));

/** Folders each folder must not import from (top-level files are shared). */
const FORBIDDEN: Record<string, string[]> = {
  protocol: allBut("protocol"),
  transport: allBut("transport"),
  hub: allBut("hub", "protocol", "transport"),
  sources: allBut("sources", "protocol", "kube"),
  kube: allBut("kube", "protocol"),
  // The one protocol client: runs in browsers and Node too, so it shares
  // only the protocol (and the top-level retry.ts, timer.ts and redact.ts).
  client: allBut("client", "protocol"),
  // The client reaches local/ only through a dynamic import (below).
  cli: ["hub", "server", "sources", "kube", "dashboard"],
  server: ["cli", "dashboard", "client", "local"],
  // The page shares only the protocol and the client library
  // (tests/dashboard_build_test.ts also holds it to retry.ts and timer.ts
  // among the top-level files, and to valibot).
  dashboard: allBut("dashboard", "protocol", "client"),
  // The in-process server of laptop mode: a server without a port, for
  // the client; it serves, it is not a client (of the client library it
  // takes only the channel it hands the client's dialer).
  local: ["cli", "dashboard"],
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

function importsOf(
  file: string,
  options: { dynamic?: boolean } = {},
): string[] {
  const text = Deno.readTextFileSync(file);
  const specifiers = [
    ...text.matchAll(/^\s*(?:import|export)\b[^;]*?from\s+"([^"]+)"/gms),
    ...(options.dynamic === false
      ? []
      : text.matchAll(/\bimport\(\s*"([^"]+)"\s*\)/g)),
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

Deno.test("layout: the client loads the in-process server only by a dynamic import", () => {
  // `get --url` must never load the hub, the sources or the Kubernetes
  // client: a static import of local/ from cli/ would.
  const statics: string[] = [];
  let dynamic = 0;
  for (const file of FILES.filter((f) => folderOf(f) === "cli")) {
    const all = importsOf(file).filter((t) => folderOf(t) === "local");
    const fixed = importsOf(file, { dynamic: false })
      .filter((t) => folderOf(t) === "local");
    dynamic += all.length - fixed.length;
    statics.push(
      ...fixed.map((t) => `${relative(SRC, file)} imports ${relative(SRC, t)}`),
    );
  }
  assert.deepEqual(statics, []);
  assert.ok(dynamic > 0, "the client reaches local/ at all");
});

Deno.test("layout: the in-process server takes only the channel from the client library", () => {
  const reached = FILES.filter((f) => folderOf(f) === "local")
    .flatMap((file) => importsOf(file))
    .filter((target) => folderOf(target) === "client")
    .map((target) => relative(SRC, target));
  assert.deepEqual([...new Set(reached)], ["client/channel.ts"]);
});

Deno.test("layout: every module imported by a computed URL is embedded in the binary, and typed", () => {
  // deno run does not follow such imports, and neither does deno compile:
  // one missing from LAZY_MODULES would be missing from the binary.
  const root = new URL("../", import.meta.url).pathname;
  const lazy = new Set<string>();
  for (const file of [join(root, "main.ts"), ...FILES]) {
    const text = Deno.readTextFileSync(file);
    const computed = text.matchAll(
      /import\(\s*(?:lazy\(\s*"([^"]+)"\s*\)|new URL\(\s*"([^"]+)",\s*import\.meta\.url\s*\)\.href)/g,
    );
    for (const [, viaLazy, viaUrl] of computed) {
      const path = viaLazy ?? viaUrl;
      lazy.add(relative(root, resolve(dirname(file), path)));
      assert.ok(
        text.includes(`typeof import(\n`) ||
          text.includes(`typeof import("${path}")`),
        `${relative(root, file)} types its import of ${path}`,
      );
    }
  }
  assert.deepEqual([...lazy].sort(), [...LAZY_MODULES].sort());
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
