/**
 * The offline source: Kubernetes manifests in a directory (YAML, several
 * documents per file, or JSON; `List` objects are unpacked). Every edit,
 * new file and deletion becomes the same events a live cluster would
 * produce, because each change is a resync of the {@link Store}.
 *
 * The directory is polled, not watched. `Deno.watchFs` checks each event's
 * path by opening it on its watcher thread, so one FIFO in the directory
 * stops every later event and then hangs closing the watcher (and with it
 * shutdown); a poll only ever `stat`s what it does not read. A poll costs
 * a `stat` per file, and unchanged files are not read again.
 *
 * @module
 */
import { createLogger, type Logger } from "../log.ts";
import {
  FileRefused,
  findManifestFiles,
  type FoundFile,
  readManifestFile,
} from "./manifest_files.ts";
import {
  type Manifest,
  ManifestLimitError,
  parseManifests,
} from "./manifests.ts";
import { RESOURCES } from "./resources.ts";
import type { Store } from "./store.ts";

/** Options for {@link DirectorySource}. */
export interface DirectorySourceOptions {
  /** Where skipped files are reported. */
  log?: Logger;
  /** Time between two scans of the directory, in ms. Default 250. */
  pollMs?: number;
}

// A file read less than this long after it was last modified may change
// again within the same timestamp (coarse file systems tick in seconds),
// keeping mtime and size: it is read again until it has been quiet that
// long, and parsed again only if its bytes changed.
const RACY_MS = 2000;
// Listing the directory may take at most about a tenth of the time
// between scans (reading a changed file is a one-off and not counted).
const LIST_SHARE = 10;

interface FileEntry {
  /** What `stat` said when it was last looked at. */
  signature: string;
  /** Whether to read it again although its signature is unchanged. */
  racy: boolean;
  /** SHA-256 of the bytes last parsed. */
  digest?: string;
  /** The objects of its last good contents. */
  manifests: Manifest[];
}

/** Serves the cluster described by the manifests in one directory. */
export class DirectorySource {
  #dir: string;
  #store: Store;
  #log: Logger;
  #pollMs: number;
  #files = new Map<string, FileEntry>();
  #timer: ReturnType<typeof setTimeout> | undefined;
  #scanning: Promise<void> = Promise.resolve();
  #listProblem: string | undefined;
  // How long the last listing took, in ms.
  #listMs = 0;
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
    this.#pollMs = options.pollMs ?? 250;
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
    this.#dir = await Deno.realPath(this.#dir);
    await this.#scan(true);
    this.#schedule(this.#pollMs);
  }

  /**
   * Stops following changes. Resolves when a scan under way has ended
   * (a file that does not answer can hold it for a few seconds).
   */
  stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    return this.#scanning;
  }

  #schedule(delayMs: number): void {
    if (this.#stopped) return;
    this.#timer = setTimeout(() => {
      this.#scanning = this.#scan(false).catch((error) => {
        this.#log.error("Scanning the source directory failed", { error });
      }).then(() => {
        this.#schedule(Math.max(this.#pollMs, this.#listMs * LIST_SHARE));
      });
    }, delayMs);
  }

  async #scan(first: boolean): Promise<void> {
    let found: FoundFile[];
    const listing = performance.now();
    try {
      found = await findManifestFiles(this.#dir);
      this.#listMs = performance.now() - listing;
    } catch (error) {
      const problem = (error as Error).message;
      if (problem !== this.#listProblem) {
        this.#log.warn(
          "Cannot list the source directory; keeping what was read",
          { error },
        );
      }
      this.#listProblem = problem;
      return;
    }
    if (this.#listProblem !== undefined) {
      this.#log.info("Listing the source directory again");
      this.#listProblem = undefined;
    }
    let changed = first;
    const seen = new Set(found.map((f) => f.path));
    for (const path of [...this.#files.keys()]) {
      if (seen.has(path)) continue;
      this.#files.delete(path);
      changed = true;
    }
    for (const file of found) {
      if (this.#stopped) return;
      if (await this.#refresh(file)) changed = true;
    }
    if (changed && !this.#stopped) this.#publish();
  }

  // Re-reads `file` if it may have changed; true when its objects did. A
  // file that cannot be read or parsed keeps its last good objects: an
  // editor's half-written save must not look like every object in it
  // being deleted and created again.
  async #refresh(file: FoundFile): Promise<boolean> {
    const { path, info } = file;
    const known = this.#files.get(path);
    const signature = `${
      info.mtime?.getTime() ?? 0
    }:${info.size}:${info.dev}:${info.ino}:${file.problem ?? ""}`;
    if (known?.signature === signature && !known.racy) return false;
    const keep = (entry: Partial<FileEntry>) => {
      this.#files.set(path, {
        signature,
        racy: false,
        manifests: known?.manifests ?? [],
        ...entry,
      });
      return false;
    };
    if (file.problem) {
      this.#log.warn("Skipped a manifest file", { path, reason: file.problem });
      return keep({});
    }
    const readAt = Date.now();
    let bytes: Uint8Array;
    try {
      bytes = await readManifestFile(path);
    } catch (error) {
      const reason = error instanceof FileRefused
        ? error.message
        : `it cannot be read: ${(error as Error).message}`;
      this.#log.warn("Skipped a manifest file", { path, reason });
      return keep({});
    }
    const racy = readAt - (info.mtime?.getTime() ?? 0) < RACY_MS;
    const digest = await sha256(bytes);
    if (known?.digest === digest) return keep({ racy, digest });
    let manifests: Manifest[];
    try {
      manifests = parseManifests(new TextDecoder().decode(bytes), path);
    } catch (error) {
      // YAML errors carry a multi-line source excerpt; the first line has
      // the reason and the line:column, which is what a log line needs.
      const reason = (error as Error).message.split("\n")[0];
      this.#log.warn(
        error instanceof ManifestLimitError
          ? "Skipped a manifest file"
          : "Skipped a malformed manifest file",
        { path, reason },
      );
      return keep({ racy, digest });
    }
    this.#files.set(path, { signature, racy, digest, manifests });
    return true;
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
            { object: key, path, previous: owner },
          );
        }
        owners.set(key, path);
        listings.get(resource)?.add(object);
      }
    }
    for (const listing of listings.values()) listing.commit();
  }
}

async function sha256(bytes: Uint8Array): Promise<string> {
  const digest = new Uint8Array(
    await crypto.subtle.digest("SHA-256", bytes as Uint8Array<ArrayBuffer>),
  );
  return Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("");
}
