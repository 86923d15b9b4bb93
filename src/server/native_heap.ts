/**
 * Hands the C library's free memory back to the system after a burst.
 *
 * Why: V8 allocates ArrayBuffer contents (frames, joined writes, read
 * buffers) with glibc's malloc, on the main thread's heap. A saturated
 * fan-out frees them by the hundred thousand, but malloc returns memory
 * only from the top of that heap, and one block still in use near the top
 * (anything allocated late in the burst that lives on) keeps everything
 * below it. Measured after a 10 s saturated run with 1,000 subscribers,
 * with V8's heap already collected back to 15 MB: the `[heap]` mapping
 * held 90 to 150 MB (11 at rest), nearly all of it free, and RSS stayed
 * 1.4 to 1.9 times rest, differing from run to run with where the last
 * live blocks landed. Neither a smaller history nor no batch pool changed
 * it. `malloc_trim(0)` releases free pages anywhere in the heap
 * (madvise), took 7 ms, and brought RSS to 0.98 times rest.
 *
 * glibc offers that only as a function, so it is called through Deno's
 * FFI, permitted for exactly the C library's own file at the paths glibc
 * systems keep it ({@link LIBC_PATHS}; tools/permissions.ts bakes that
 * scope into the binary). Elsewhere (macOS, musl, a libc at another path)
 * there is nothing to call and the server only collects.
 *
 * @module
 */

/**
 * Where glibc systems keep the C library, as the dynamic loader names it:
 * Debian and Ubuntu (either side of the /usr merge, amd64 and arm64, and
 * the scratch image, which keeps the build's layout), Fedora and RHEL,
 * Arch. The binary may open these files through FFI and nothing else.
 */
export const LIBC_PATHS: readonly string[] = [
  "/lib/x86_64-linux-gnu/libc.so.6",
  "/usr/lib/x86_64-linux-gnu/libc.so.6",
  "/lib/aarch64-linux-gnu/libc.so.6",
  "/usr/lib/aarch64-linux-gnu/libc.so.6",
  "/lib64/libc.so.6",
  "/usr/lib64/libc.so.6",
  "/usr/lib/libc.so.6",
];

/** Releases free malloc memory; returns whether any was released. */
export type Trim = () => boolean;

/**
 * glibc's `malloc_trim(0)` from the first of `paths` that opens, or
 * undefined when none does (not Linux, not glibc, FFI not permitted).
 */
export function nativeTrim(
  paths: readonly string[] = LIBC_PATHS,
): Trim | undefined {
  if (Deno.build.os !== "linux") return undefined;
  for (const path of paths) {
    try {
      const libc = Deno.dlopen(path, {
        malloc_trim: { parameters: ["usize"], result: "i32" },
      });
      return () => libc.symbols.malloc_trim(0n) === 1;
    } catch {
      // Absent, or not this path's permission: try the next.
    }
  }
  return undefined;
}
