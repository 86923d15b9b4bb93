/**
 * The Helm chart as the tests render it: `helm template` with the helm
 * built by tests/tools/ensure_assets.sh, parsed into manifests.
 */
import assert from "node:assert/strict";
import { loadAll } from "js-yaml";
import { assetsDir } from "./envtest.ts";

/** The chart's directory. */
export const CHART: string = new URL("../../helm/dorgu-ws", import.meta.url)
  .pathname;
/** The namespace releases are rendered into. */
export const NAMESPACE = "dorgu-system";

/** A rendered object. */
export type Manifest = Record<string, unknown> & {
  kind: string;
  metadata: {
    name: string;
    namespace?: string;
    labels?: Record<string, string>;
  };
};

/** Runs helm with `args`. */
export async function helm(
  args: string[],
): Promise<{ code: number; stdout: string; stderr: string }> {
  const output = await new Deno.Command(`${await assetsDir()}/helm`, {
    args,
    stdout: "piped",
    stderr: "piped",
  }).output();
  return {
    code: output.code,
    stdout: new TextDecoder().decode(output.stdout),
    stderr: new TextDecoder().decode(output.stderr),
  };
}

/** Renders release `dorgu-ws` in {@link NAMESPACE} with `--set` values. */
export async function render(set: string[] = []): Promise<Manifest[]> {
  const result = await helm([
    "template",
    "dorgu-ws",
    CHART,
    "--namespace",
    NAMESPACE,
    "--kube-version",
    "1.37.2",
    ...set.flatMap((s) => ["--set", s]),
  ]);
  assert.equal(result.code, 0, result.stderr);
  return (loadAll(result.stdout) as Manifest[]).filter(Boolean);
}

/** The manifests of one kind. */
export function find(manifests: Manifest[], kind: string): Manifest[] {
  return manifests.filter((m) => m.kind === kind);
}
