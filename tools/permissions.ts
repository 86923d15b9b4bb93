/**
 * What the dorgu-ws binary may do, in one place: the permissions and V8
 * flags the compile task bakes in and the tests and benchmarks run with,
 * and the files the binary embeds.
 *
 * @module
 */
import { LIBC_PATHS } from "../src/server/native_heap.ts";

/**
 * The permissions the dorgu-ws binary runs with: the compile task bakes
 * exactly these in, and the subprocess tests run `main.ts` with exactly
 * these, so what the tests prove is what the binary can do.
 *
 * - net: listen for clients; reach the Kubernetes API (any host the
 *   kubeconfig names) or, for the client, the server.
 * - read: kubeconfig, CA and client-certificate files, the mounted
 *   service-account token, `--token-file`, `--source DIR`.
 * - env: KUBECONFIG, HOME, KUBERNETES_SERVICE_*, DORGU_WS_*, NO_COLOR; exec
 *   credential plugins are handed the whole environment.
 * - run: exec credential plugins (aws, gke-gcloud-auth-plugin, kubelogin),
 *   whose names only the user's kubeconfig knows; for `dorgu-ws dashboard`,
 *   the browser opener (xdg-open, open), and `sh` and `rm` for the private
 *   redirect file it is handed instead of the secret URL (written from
 *   stdin, so the binary itself still writes nothing).
 *
 * - ffi, for exactly the C library's own file at the paths glibc systems
 *   keep it (src/server/native_heap.ts): after a burst the server calls
 *   glibc's `malloc_trim`, which no runtime API offers, to give the
 *   memory freed by the burst back (RSS 1.4-1.9x rest without it, 0.98x
 *   with it). FFI into libc can do what native code can; so can `run`,
 *   which exec credential plugins need and which is not scoped either.
 *   No other library may be opened.
 *
 * Not granted: write, sys, ffi beyond the C library. `--no-prompt`: a
 * missing permission is an error, never an interactive question.
 *
 * `--unstable-net` is a runtime feature, not a permission: it lets a TLS
 * listener set `SO_REUSEPORT`, so a renewed certificate gets its listener
 * before the old one closes (see src/server/tls.ts).
 */
export const RUNTIME_PERMISSIONS: readonly string[] = [
  "--allow-net",
  "--allow-read",
  "--allow-env",
  "--allow-run",
  `--allow-ffi=${LIBC_PATHS.join(",")}`,
  "--unstable-net",
  "--no-prompt",
];

/**
 * V8 flags the binary runs with, baked in by the compile task and passed by
 * the tests and benchmarks that run `main.ts` as the binary runs:
 *
 * - `--expose-gc`: the server's memory reducer (src/server/memory_reducer.ts)
 *   asks for one memory-reducing collection after a burst, which V8 offers
 *   only through `gc`. Nothing else calls it.
 */
export const RUNTIME_V8_FLAGS: readonly string[] = ["--expose-gc"];

/** {@link RUNTIME_V8_FLAGS} as the one `deno` argument that carries them. */
export const V8_FLAGS_ARG = `--v8-flags=${RUNTIME_V8_FLAGS.join(",")}`;

/**
 * Modules imported by a computed URL (main.ts, `lazy`), which the module
 * graph does not follow, so `deno run` does not load them before every
 * command: the compile task embeds them (and what they import) with
 * `--include`, and a test holds this list to every such import.
 */
export const LAZY_MODULES: readonly string[] = [
  "src/server/serve.ts",
  "src/server/dashboard_command.ts",
  "src/cli/completion.ts",
  "src/server/config.ts",
  "src/server/dashboard_flags.ts",
  "src/local/mod.ts",
  "src/local/connect.ts",
];

/**
 * Files the binary embeds besides its module graph: the demo cluster, the
 * dashboard's page and its built script, and the protocol's AsyncAPI
 * document (`/asyncapi.json`).
 */
export const EMBEDDED_FILES: readonly string[] = [
  "examples/cluster",
  "src/dashboard/page",
  "src/dashboard/built",
  "docs/asyncapi.json",
];
