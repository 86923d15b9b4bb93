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
 * Not granted: write, ffi, sys. `--no-prompt`: a missing permission is an
 * error, never an interactive question.
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
  "--unstable-net",
  "--no-prompt",
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
