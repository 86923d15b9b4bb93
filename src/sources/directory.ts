/**
 * The offline source: Kubernetes manifests in a directory (YAML, several
 * documents per file, or JSON; `List` objects are unpacked). The directory
 * is watched, and every edit, new file and deletion becomes the same events
 * a live cluster would produce, because each rescan is a resync of the
 * {@link Store}.
 */
import { loadAll } from "js-yaml";
import * as v from "valibot";
import { createLogger, type Logger } from "../log.ts";
import { PROJECT, ProjectionError, projectionKey } from "./projections.ts";
import { type Resource, resourceOfManifest, RESOURCES } from "./resources.ts";
import type { Store } from "./store.ts";

const MANIFEST_EXTENSIONS = [".yaml", ".yml", ".json"];
// Files larger than this are not manifests anyone edits by hand.
const MAX_FILE_BYTES = 16 * 1024 * 1024;

/** Options for {@link DirectorySource}. */
export interface DirectorySourceOptions {
  /** Where malformed files are reported. */
  log?: Logger;
  /** Quiet time after a file change before rescanning, in ms. Default 100. */
  debounceMs?: number;
}

interface Manifest {
  resource: Resource;
  /** Cache key of the object, to spot one defined in two files. */
  key: string;
  object: unknown;
}

interface FileEntry {
  mtime: number;
  size: number;
  manifests: Manifest[];
}

const ManifestHeader = v.object({
  apiVersion: v.string(),
  kind: v.string(),
  items: v.optional(v.array(v.unknown())),
});

/** Serves the cluster described by the manifests in one directory. */
export class DirectorySource {
  #dir: string;
  #store: Store;
  #log: Logger;
  #debounceMs: number;
  #files = new Map<string, FileEntry>();
  // Paths the watcher reported since the last rescan. They are re-read
  // whatever their stat says: an edit within the file system's timestamp
  // granularity that keeps the size leaves mtime and size unchanged.
  #dirty = new Set<string>();
  #watcher: Deno.FsWatcher | undefined;
  #timer: ReturnType<typeof setTimeout> | undefined;
  // Rescans run one after another, never two at once.
  #scanning: Promise<void> = Promise.resolve();
  #stopped = false;

  /** Creates a source reading `dir` into `store`. */
  constructor(
    dir: string,
    store: Store,
    options: DirectorySourceOptions = {},
  ) {
    this.#dir = dir;
    this.#store = store;
    this.#log = (options.log ?? createLogger()).with({ source: dir });
    this.#debounceMs = options.debounceMs ?? 100;
  }

  /**
   * Reads the directory once (after which every resource is ready), then
   * follows changes. Rejects when the directory cannot be read at all.
   */
  async start(): Promise<void> {
    const info = await Deno.stat(this.#dir).catch((error) => {
      throw new Error(
        `Cannot read the source directory ${this.#dir}: ${error.message}. Pass --source with a directory of manifests.`,
      );
    });
    if (!info.isDirectory) {
      throw new Error(
        `The source ${this.#dir} is not a directory. Pass --source with a directory of manifests.`,
      );
    }
    // The watcher reports absolute, resolved paths; list files the same way.
    this.#dir = await Deno.realPath(this.#dir);
    await this.#rescan();
    this.#follow();
  }

  /** Stops following changes. */
  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#timer);
    try {
      this.#watcher?.close();
    } catch {
      // Already closed.
    }
  }

  #follow(): void {
    try {
      this.#watcher = Deno.watchFs(this.#dir, { recursive: true });
    } catch (error) {
      this.#log.warn(
        "Cannot watch the source directory; serving it as it is now",
        { error },
      );
      return;
    }
    (async () => {
      try {
        for await (const event of this.#watcher as Deno.FsWatcher) {
          for (const path of event.paths) this.#dirty.add(path);
          clearTimeout(this.#timer);
          this.#timer = setTimeout(() => {
            this.#scanning = this.#scanning.then(() => this.#rescan());
          }, this.#debounceMs);
        }
      } catch (error) {
        if (!this.#stopped) {
          this.#log.warn("Stopped watching the source directory", { error });
        }
      }
    })();
  }

  async #rescan(): Promise<void> {
    if (this.#stopped) return;
    let paths: string[];
    try {
      paths = await listManifests(this.#dir);
    } catch (error) {
      this.#log.warn(
        "Cannot list the source directory; keeping what was read",
        {
          error,
        },
      );
      return;
    }
    const seen = new Set(paths);
    for (const path of [...this.#files.keys()]) {
      if (!seen.has(path)) this.#files.delete(path);
    }
    const dirty = this.#dirty;
    this.#dirty = new Set();
    for (const path of paths) await this.#refresh(path, dirty.has(path));
    this.#publish();
  }

  // Re-reads `path` if it changed. A file that fails to parse keeps its
  // last good contents: an editor's half-written save must not look like
  // every object in it being deleted and created again.
  async #refresh(path: string, force: boolean): Promise<void> {
    let stat: Deno.FileInfo;
    try {
      stat = await Deno.stat(path);
    } catch {
      this.#files.delete(path);
      return;
    }
    const mtime = stat.mtime?.getTime() ?? 0;
    const known = this.#files.get(path);
    if (
      !force && known && known.mtime === mtime && known.size === stat.size
    ) return;
    if (stat.size > MAX_FILE_BYTES) {
      this.#log.warn("Skipped a manifest file larger than 16 MiB", { path });
      return;
    }
    let manifests: Manifest[];
    try {
      manifests = parseManifests(await Deno.readTextFile(path), path);
    } catch (error) {
      // YAML errors carry a multi-line source excerpt; the first line has
      // the reason and the line:column, which is what a log line needs.
      this.#log.warn("Skipped a malformed manifest file", {
        path,
        reason: (error as Error).message.split("\n")[0],
      });
      this.#files.set(path, {
        mtime,
        size: stat.size,
        manifests: known?.manifests ?? [],
      });
      return;
    }
    this.#files.set(path, { mtime, size: stat.size, manifests });
  }

  #publish(): void {
    const listings = new Map(RESOURCES.map((r) => [r, this.#store.resync(r)]));
    const owners = new Map<string, string>();
    for (const [path, entry] of this.#files) {
      for (const { resource, key, object } of entry.manifests) {
        const owner = owners.get(key);
        if (owner !== undefined && owner !== path) {
          this.#log.warn(
            "The same object is defined twice; the later file wins",
            {
              object: key,
              path,
              previous: owner,
            },
          );
        }
        owners.set(key, path);
        listings.get(resource)?.add(object);
      }
    }
    for (const listing of listings.values()) listing.commit();
  }
}

async function listManifests(dir: string): Promise<string[]> {
  const found: string[] = [];
  const walk = async (path: string) => {
    for await (const entry of Deno.readDir(path)) {
      if (entry.name.startsWith(".")) continue;
      const child = `${path}/${entry.name}`;
      if (entry.isDirectory) await walk(child);
      else if (MANIFEST_EXTENSIONS.some((ext) => entry.name.endsWith(ext))) {
        found.push(child);
      }
    }
  };
  await walk(dir.replace(/\/+$/, "") || "/");
  return found.sort();
}

/**
 * Parses one manifest file into the objects dorgu-ws follows. Throws with a
 * reason naming the document when any part of the file is malformed, so
 * one bad document does not half-apply a file.
 */
export function parseManifests(text: string, path: string): Manifest[] {
  const documents = path.endsWith(".json")
    ? [JSON.parse(text)]
    : loadAll(text, { filename: path });
  const manifests: Manifest[] = [];
  const visit = (document: unknown, where: string) => {
    if (document === null || document === undefined) return;
    const header = v.safeParse(ManifestHeader, document);
    if (!header.success) {
      throw new Error(
        `${where} is not a Kubernetes object: it needs apiVersion and kind strings.`,
      );
    }
    const { apiVersion, kind, items } = header.output;
    if (kind.endsWith("List") && items) {
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
