/**
 * `deno task dashboard-report`: what the page's script is made of. Builds it
 * as `deno task dashboard` does, with esbuild's source map, and lists the
 * bytes of esbuild's minified output by source module and by top-level
 * declaration (a function, a class, a constant), the original name where
 * the map gives one; terser's pass after it shortens the whole by a few
 * percent.
 *
 *   deno task dashboard-report        the biggest 40 declarations
 *   deno task dashboard-report 100    the biggest 100
 *
 * @module
 */
import { minify, type MinifyOptions } from "terser";
import { bundleDashboard, esbuildPage } from "./build_dashboard.ts";

/** Bytes of the script from one place: a module, or a declaration in it. */
export interface Contribution {
  /** `src/client/follow.ts`, or `src/client/follow.ts:61 Follower`. */
  source: string;
  /** Bytes of esbuild's minified output. */
  bytes: number;
}

/** What the page's script is made of. */
export interface BundleReport {
  /** esbuild's minified script, bytes. */
  esbuildBytes: number;
  /** The committed form (after terser), bytes. */
  finalBytes: number;
  /** By source module, biggest first. */
  modules: Contribution[];
  /** By top-level declaration, biggest first. */
  declarations: Contribution[];
}

// One source map segment: where it starts in the script, and what it is.
interface Segment {
  at: number;
  source: string;
  line: number;
  name?: string;
}

/** Builds the page's script and says where its bytes come from. */
export async function bundleReport(): Promise<BundleReport> {
  const dir = await Deno.makeTempDir({ prefix: "dorgu-ws-report-" });
  try {
    const path = await esbuildPage(dir, { sourceMap: true });
    const script = await Deno.readTextFile(path);
    const mapPath = `${path}.map`;
    const segments = readMap(
      script,
      JSON.parse(await Deno.readTextFile(mapPath)),
      new URL(`file://${mapPath}`),
    );
    const modules = new Map<string, number>();
    segments.forEach((segment, i) => {
      const end = segments[i + 1]?.at ?? script.length;
      modules.set(
        segment.source,
        (modules.get(segment.source) ?? 0) + end - segment.at,
      );
    });
    return {
      esbuildBytes: script.length,
      finalBytes: (await bundleDashboard()).length,
      modules: biggestFirst(
        [...modules].map(([source, bytes]) => ({ source, bytes })),
      ),
      declarations: biggestFirst(await declarations(script, segments)),
    };
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

function biggestFirst(list: Contribution[]): Contribution[] {
  return list.sort((a, b) => b.bytes - a.bytes);
}

// A module's path in the checkout, or an npm package's from its name.
function shortName(source: string, mapUrl: URL): string {
  const path = new URL(source, mapUrl).pathname;
  if (path.startsWith(ROOT)) return path.slice(ROOT.length);
  return path.replace(/^.*\/registry\.npmjs\.org\//, "");
}

const ROOT = new URL("../", import.meta.url).pathname;

const BASE64 =
  "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

// The source map's mappings (base64 VLQ, relative fields) as absolute
// segments, in the script's order.
function readMap(
  script: string,
  map: { sources: string[]; names: string[]; mappings: string },
  mapUrl: URL,
): Segment[] {
  const lineStarts = [0];
  for (let i = 0; i < script.length; i++) {
    if (script[i] === "\n") lineStarts.push(i + 1);
  }
  const sources = map.sources.map((source) => shortName(source, mapUrl));
  const segments: Segment[] = [];
  const field = [0, 0, 0, 0, 0];
  map.mappings.split(";").forEach((line, index) => {
    field[0] = 0;
    for (const text of line ? line.split(",") : []) {
      const values = vlq(text);
      values.forEach((value, i) => field[i] += value);
      if (values.length < 4) continue;
      segments.push({
        at: lineStarts[index] + field[0],
        source: sources[field[1]],
        line: field[2] + 1,
        name: values.length > 4 ? map.names[field[4]] : undefined,
      });
    }
  });
  return segments;
}

function vlq(text: string): number[] {
  const values: number[] = [];
  let value = 0;
  let shift = 0;
  for (const char of text) {
    const digit = BASE64.indexOf(char);
    value += (digit & 31) << shift;
    shift += 5;
    if (digit & 32) continue;
    values.push(value & 1 ? -(value >> 1) : value >> 1);
    value = shift = 0;
  }
  return values;
}

// Each top-level statement (each declarator of a `var` on its own), sized
// up to the next one, named by where its first byte came from.
async function declarations(
  script: string,
  segments: Segment[],
): Promise<Contribution[]> {
  const { ast } = await minify(script, AST_ONLY) as unknown as {
    ast: { body: Node[] };
  };
  const starts = ast.body.flatMap((node) =>
    node.definitions?.map((d) => d.name.start.pos) ?? [node.start.pos]
  );
  const at = (offset: number) =>
    segments.findLast((segment) => segment.at <= offset) ?? segments[0];
  return starts.map((start, i) => {
    const origin = at(start);
    const named = segments.find((s) => s.at >= start && s.name)?.name ?? "";
    return {
      source: `${origin.source}:${origin.line} ${named}`.trim(),
      bytes: (starts[i + 1] ?? script.length) - start,
    };
  });
}

// Terser parses, and hands back its syntax tree instead of code (an option
// its type definitions leave out).
const AST_ONLY = {
  compress: false,
  mangle: false,
  format: { ast: true, code: false },
} as MinifyOptions;

// The little of terser's syntax tree this report reads.
interface Node {
  start: { pos: number };
  definitions?: { name: { start: { pos: number } } }[];
}

if (import.meta.main) {
  const shown = Number(Deno.args[0] ?? 40);
  const report = await bundleReport();
  console.log(
    `esbuild: ${report.esbuildBytes} bytes; after terser (committed): ${report.finalBytes} bytes.\n\nBy module:`,
  );
  for (const { source, bytes } of report.modules) {
    console.log(`${String(bytes).padStart(7)}  ${source}`);
  }
  console.log(`\nBy declaration (the biggest ${shown}):`);
  for (const { source, bytes } of report.declarations.slice(0, shown)) {
    console.log(`${String(bytes).padStart(7)}  ${source}`);
  }
}
