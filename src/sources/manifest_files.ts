/**
 * Finding and reading manifest files without trusting them (see
 * src/files.ts): only regular files, symlinks followed to check what they
 * point at, and no more than {@link MAX_FILE_BYTES} from any file.
 *
 * @module
 */
import { FileRefused, kindOf, readBoundedFile } from "../files.ts";

export { FileRefused };

/** Most bytes read from one manifest file. */
export const MAX_FILE_BYTES = 4 * 1024 * 1024;

/** File name endings of manifest files. */
export const MANIFEST_EXTENSIONS: readonly string[] = [
  ".yaml",
  ".yml",
  ".json",
];

/** A manifest file found in the directory. */
export interface FoundFile {
  /** Its path. */
  path: string;
  /** What it is (symlinks followed). */
  info: Deno.FileInfo;
  /** Why it is not read, when it is not a regular file. */
  problem?: string;
}

/**
 * The manifest files under `dir`, sorted: names ending in
 * {@link MANIFEST_EXTENSIONS}, not starting with a dot, in `dir` and its
 * subdirectories (symlinked directories are not entered). Dangling
 * symlinks are left out. Throws when `dir` itself cannot be read.
 */
export async function findManifestFiles(dir: string): Promise<FoundFile[]> {
  const found: FoundFile[] = [];
  const walk = async (path: string, top: boolean) => {
    let entries: Deno.DirEntry[];
    try {
      entries = await Array.fromAsync(Deno.readDir(path));
    } catch (error) {
      // A subdirectory removed while listing is simply gone.
      if (top || !(error instanceof Deno.errors.NotFound)) throw error;
      return;
    }
    for (const entry of entries) {
      if (entry.name.startsWith(".")) continue;
      const child = `${path}/${entry.name}`;
      if (entry.isDirectory) {
        await walk(child, false);
        continue;
      }
      if (!MANIFEST_EXTENSIONS.some((ext) => entry.name.endsWith(ext))) {
        continue;
      }
      // stat follows symlinks and never opens the file, so a FIFO is safe.
      let info: Deno.FileInfo;
      try {
        info = await Deno.stat(child);
      } catch {
        continue;
      }
      found.push(
        info.isFile
          ? { path: child, info }
          : { path: child, info, problem: `it is ${kindOf(info)}` },
      );
    }
  };
  await walk(dir.replace(/\/+$/, "") || "/", true);
  return found.sort((a, b) => a.path < b.path ? -1 : a.path > b.path ? 1 : 0);
}

/**
 * Reads a manifest file, at most {@link MAX_FILE_BYTES}. Throws
 * {@link FileRefused} when it is not a regular file, is larger, or does not
 * answer within a few seconds.
 */
export function readManifestFile(path: string): Promise<Uint8Array> {
  return readBoundedFile(path, { maxBytes: MAX_FILE_BYTES });
}
