/**
 * Manifest text -> the objects dorgu-ws follows: YAML (several documents
 * per file) or JSON, `List` objects unpacked, within limits that keep one
 * file's cost bounded however it was written.
 *
 * js-yaml resolves an alias (`*name`) to the same object as its anchor, so
 * parsing costs what the text costs; what can blow up is a walk over the
 * result, where nested aliases multiply (a few hundred bytes of aliased
 * Lists expand to a million objects). Every walk here is bounded: the
 * objects of a file (List items included) are counted as they are visited,
 * and projections read only their own fields, with list fields capped
 * (projections.ts).
 *
 * @module
 */
import { loadAll } from "js-yaml";
import * as v from "valibot";
import { PROJECT, ProjectionError, projectionKey } from "./projections.ts";
import { type Resource, resourceOfManifest } from "./resources.ts";

/** Most objects one file may define, counting `List` items and ignored kinds. */
export const MAX_OBJECTS_PER_FILE = 10_000;
/** Most YAML aliases (`*name`) in one document. */
export const MAX_YAML_ALIASES = 1_000;

/** One object of a followed resource, as a manifest file defines it. */
export interface Manifest {
  /** The resource it belongs to. */
  resource: Resource;
  /** `resource/cache key`, to spot one object defined in two files. */
  key: string;
  /** The object as parsed. */
  object: unknown;
}

/** A file that breaks a limit: well-formed, perhaps, but too costly to read. */
export class ManifestLimitError extends Error {
  /** Creates the error from a one-line reason. */
  constructor(message: string) {
    super(message);
    this.name = "ManifestLimitError";
  }
}

const ManifestHeader = v.object({
  apiVersion: v.string(),
  kind: v.string(),
  items: v.optional(v.array(v.unknown())),
});

/**
 * Parses one manifest file into the objects dorgu-ws follows. Throws with a
 * reason naming the document when any part of the file is malformed, so
 * one bad document does not half-apply a file, and a
 * {@link ManifestLimitError} when the file breaks a limit.
 */
export function parseManifests(text: string, path: string): Manifest[] {
  const documents = path.endsWith(".json")
    ? [JSON.parse(text)]
    : loadYaml(text, path);
  const manifests: Manifest[] = [];
  let objects = 0;
  // Throws when `more` objects would not fit.
  const admit = (more: number) => {
    if (objects + more > MAX_OBJECTS_PER_FILE) {
      throw new ManifestLimitError(
        `it defines more than ${MAX_OBJECTS_PER_FILE} objects (List items included); split it into several files.`,
      );
    }
  };
  const visit = (document: unknown, where: string) => {
    if (document === null || document === undefined) return;
    admit(1);
    objects++;
    const header = v.safeParse(ManifestHeader, document);
    if (!header.success) {
      throw new Error(
        `${where} is not a Kubernetes object: it needs apiVersion and kind strings.`,
      );
    }
    const { apiVersion, kind, items } = header.output;
    if (kind.endsWith("List") && items) {
      // A List too long to finish fails before its first item.
      admit(items.length);
      items.forEach((item, i) => visit(item, `${where}, item ${i + 1}`));
      return;
    }
    const resource = resourceOfManifest(apiVersion, kind);
    if (!resource) return;
    let key: string;
    try {
      key = projectionKey(resource, PROJECT[resource](document));
    } catch (error) {
      if (!(error instanceof ProjectionError)) throw error;
      throw new Error(`${where} (${kind}): ${error.message}`);
    }
    manifests.push({ resource, key: `${resource}/${key}`, object: document });
  };
  documents.forEach((document, i) => visit(document, `document ${i + 1}`));
  return manifests;
}

function loadYaml(text: string, path: string): unknown[] {
  try {
    return loadAll(text, { filename: path, maxAliases: MAX_YAML_ALIASES });
  } catch (error) {
    const reason = (error as Error).message.split("\n")[0];
    // js-yaml's own limits (aliases, nesting depth, merge keys).
    if (/exceeded max\w+ \(\d+\)/.test(reason)) {
      throw new ManifestLimitError(
        `${reason}; a manifest needs far fewer, so it is not read.`,
      );
    }
    throw error;
  }
}
