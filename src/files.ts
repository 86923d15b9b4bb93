/**
 * Reading a file the process does not control, without trusting it: only
 * a regular file is opened (a FIFO blocks whoever opens it for reading
 * until a writer comes; a device or a socket is not a file to read),
 * symlinks are followed to check what they point at, no more than a cap
 * is read, counted as it is read (`stat` says 0 bytes for procfs files and
 * `/dev/zero`), and a file that does not answer in time is given up on.
 * The directory source reads manifests this way; the server its TLS pair
 * and token file, which it re-reads while serving; the client its config.
 *
 * @module
 */
import { type CancelTimer, startTimer } from "./timer.ts";

/** Why a file was not read: a clause such as "it is a FIFO". */
export class FileRefused extends Error {
  /** Creates the reason. */
  constructor(reason: string) {
    super(reason);
    this.name = "FileRefused";
  }
}

/** Options for {@link readBoundedFile}. */
export interface BoundedReadOptions {
  /** Most bytes read; a larger file is refused. */
  maxBytes: number;
  /** Time to open and read it, ms. Default 5 s. */
  timeoutMs?: number;
}

const CHUNK_BYTES = 64 * 1024;

/**
 * Reads the regular file at `path`, at most `maxBytes`. Throws
 * {@link FileRefused} when it is not a regular file, is larger, or does not
 * answer in time; other errors (not found, no permission) as they come.
 */
export async function readBoundedFile(
  path: string | URL,
  options: BoundedReadOptions,
): Promise<Uint8Array> {
  const timeoutMs = options.timeoutMs ?? 5000;
  const deadline = Date.now() + timeoutMs;
  // stat follows symlinks and never opens the file, so a FIFO is safe.
  const before = await Deno.stat(path);
  if (!before.isFile) throw new FileRefused(`it is ${kindOf(before)}`);
  const opening = Deno.open(path, { read: true });
  const file = await beforeDeadline(opening, { deadline, timeoutMs }, () => {
    opening.then((late) => late.close(), () => {});
  });
  try {
    // Swapped for something else since the stat? Ask what was opened.
    const info = await beforeDeadline(
      // The compiled binary's embedded files (--source demo) cannot be
      // stat'ed once open; they are regular files, so the path says it.
      file.stat().catch((error) => {
        if (error instanceof Deno.errors.NotSupported) return Deno.stat(path);
        throw error;
      }),
      { deadline, timeoutMs },
    );
    if (!info.isFile) throw new FileRefused(`it is ${kindOf(info)}`);
    const chunks: Uint8Array[] = [];
    let total = 0;
    while (true) {
      const chunk = new Uint8Array(CHUNK_BYTES);
      const read = await beforeDeadline(file.read(chunk), {
        deadline,
        timeoutMs,
      });
      if (read === null) break;
      total += read;
      if (total > options.maxBytes) {
        throw new FileRefused(
          `it is larger than ${describeSize(options.maxBytes)}`,
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

/** {@link readBoundedFile}, decoded as UTF-8. */
export async function readBoundedText(
  path: string | URL,
  options: BoundedReadOptions,
): Promise<string> {
  return new TextDecoder().decode(await readBoundedFile(path, options));
}

/** What a file that is not a regular file is, for messages. */
export function kindOf(info: Deno.FileInfo): string {
  if (info.isDirectory) return "a directory";
  if (info.isFifo) return "a FIFO (named pipe)";
  if (info.isSocket) return "a socket";
  if (info.isCharDevice) return "a character device";
  if (info.isBlockDevice) return "a block device";
  return "not a regular file";
}

function describeSize(bytes: number): string {
  return bytes % (1024 * 1024) === 0
    ? `${bytes / 1024 / 1024} MiB`
    : `${Math.ceil(bytes / 1024)} KiB`;
}

async function beforeDeadline<T>(
  work: Promise<T>,
  limits: { deadline: number; timeoutMs: number },
  abandon: () => void = () => {},
): Promise<T> {
  let cancel: CancelTimer | undefined;
  const late = new Promise<never>((_, reject) => {
    cancel = startTimer(limits.deadline - Date.now(), () => {
      abandon();
      reject(
        new FileRefused(
          `it did not answer within ${
            limits.timeoutMs / 1000
          } s (a FIFO, or a file of a special file system?)`,
        ),
      );
    });
  });
  try {
    return await Promise.race([work, late]);
  } finally {
    cancel?.();
  }
}
