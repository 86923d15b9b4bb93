/**
 * An early start on the one slow step of a process's first TLS handshake.
 *
 * The runtime's TLS stack (rustls on AWS-LC) needs random bytes for every
 * handshake, and the first request for them in a process seeds AWS-LC's
 * generator from a CPU-jitter entropy source: about 18 ms of busy work,
 * once, on whichever thread asks first. Left to the handshake, it lands on
 * the main thread between reading the kubeconfig and the first request to
 * the API server. Generating a throwaway P-256 key does the same seeding
 * on the runtime's blocking-thread pool instead, where it overlaps with
 * loading the modules and reading the credentials; the handshake then
 * finds the generator ready.
 *
 * @module
 */

let started = false;

/** Starts seeding the TLS stack's random generator, once per process. */
export function warmTls(): void {
  if (started) return;
  started = true;
  crypto.subtle.generateKey(
    { name: "ECDSA", namedCurve: "P-256" },
    false,
    ["sign"],
  ).catch(() => {
    // Only a head start: the handshake seeds the generator itself.
  });
}

/**
 * Whether a command line of `get`, `watch` or `dashboard` reads a cluster
 * straight from a kubeconfig (laptop mode), so its first request is TLS.
 */
export function namesCluster(command: string, args: string[]): boolean {
  if (command === "dashboard") return true;
  return (command === "get" || command === "watch") &&
    args.some((arg) => /^--(context|kubeconfig)(=|$)/.test(arg));
}
