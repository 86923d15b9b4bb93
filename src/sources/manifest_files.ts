/**
 * Finding and reading manifest files without trusting them: only regular
 * files are opened (a FIFO blocks whoever opens it for reading until a
 * writer comes; a device or a socket is not a manifest), symlinks are
 * followed to check what they point at, and no more than
 * {@link MAX_FILE_BYTES} are read from any file, counted as they are read:
 * `stat` says 0 bytes for procfs files and for `/dev/zero`.
 */

/** Most bytes read from one manifest file. */
export const MAX_FILE_BYTES = 4 * 1024 * 1024;

/** File name endings of manifest files. */
export const MANIFEST_EXTENSIONS: readonly string[] = [
  ".yaml",
  ".yml",
  ".json",
];

// A file swapped for a FIFO between stat and open would block the open;
// a procfs file can block a read. Neither may stall the scan.
const READ_TIMEOUT_MS = 5000;
const CHUNK_BYTES = 64 * 1024;

/** A manifest file found in the directory. */
export interface FoundFile {
  /** Its path. */
  path: string;
  /** What it is (symlinks followed). */
  info: Deno.FileInfo;
  /** Why it is not read, when it is not a regular file. */
  problem?: string;
}

/** Why a file was not read, for the log. */
export class FileSkipped extends Error {
  /** Creates the reason, a clause such as "it is a FIFO". */
  constructor(reason: string) {
    super(reason);
    this.name = "FileSkipped";
  }
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
 * Reads a regular file, at most {@link MAX_FILE_BYTES}. Throws
 * {@link FileSkipped} when what was opened is not a regular file, is
 * larger, or does not answer within a few seconds.
 */
export async function readManifestFile(path: string): Promise<Uint8Array> {
  const deadline = Date.now() + READ_TIMEOUT_MS;
  const opening = Deno.open(path, { read: true });
  const file = await beforeDeadline(opening, deadline, () => {
    opening.then((late) => late.close(), () => {});
  });
  try {
    const info = await beforeDeadline(
      // The compiled binary's embedded files (--source demo) cannot be
      // stat'ed once open; they are regular files, so the path says it.
      file.stat().catch((error) => {
        if (error instanceof Deno.errors.NotSupported) return Deno.stat(path);
        throw error;
      }),
      deadline,
    );
    if (!info.isFile) throw new FileSkipped(`it is ${kindOf(info)}`);
    const chunks: Uint8Array[] = [];
    let total = 0;
    while (true) {
      const chunk = new Uint8Array(CHUNK_BYTES);
      const read = await beforeDeadline(file.read(chunk), deadline);
      if (read === null) break;
      total += read;
      if (total > MAX_FILE_BYTES) {
        throw new FileSkipped(
          `it is larger than ${MAX_FILE_BYTES / 1024 / 1024} MiB`,
        );
      }
      chunks.push(chunk.subarray(0, read));
    }
    const bytes = new Uint8Array(total);
    let at = 0;
    for (const chunk of chunks) {
      bytes.set(chunk, at);
      at += chunk.length;
    }
    return bytes;
  } finally {
    try {
      file.close();
    } catch {
      // A read still pending after the deadline holds it.
    }
  }
}

async function beforeDeadline<T>(
  work: Promise<T>,
  deadline: number,
  abandon: () => void = () => {},
): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      abandon();
      reject(
        new FileSkipped(
          `it did not answer within ${
            READ_TIMEOUT_MS / 1000
          } s (a FIFO, or a file of a special file system?)`,
        ),
      );
    }, Math.max(0, deadline - Date.now()));
  });
  try {
    return await Promise.race([work, late]);
  } finally {
    clearTimeout(timer);
  }
}

function kindOf(info: Deno.FileInfo): string {
  if (info.isDirectory) return "a directory";
  if (info.isFifo) return "a FIFO (named pipe)";
  if (info.isSocket) return "a socket";
  if (info.isCharDevice) return "a character device";
  if (info.isBlockDevice) return "a block device";
  return "not a regular file";
}
