/**
 * Where the time of `get NAME --context` goes, in one fresh process
 * (prints one `result {json}` line, ms): loading the client, loading
 * laptop mode, reading the credentials, the first request, the same
 * request on a new connection once the process has made one, and the
 * whole `get` once everything is loaded and warm. `firstLine` is the wall
 * clock (ms since the epoch) of this script's first line, for the parent
 * to tell how long the runtime took to start.
 *
 * Mode `early` starts seeding the TLS stack's random generator first
 * thing, as main.ts does for laptop mode (src/warm_tls.ts), and the first
 * request then takes what is left of it; mode `seed` seeds it on the main
 * thread just before the first request (an HMAC key: AWS-LC's generator,
 * seeded from CPU jitter on its first use), to show what that costs alone.
 *
 *   deno run -A bench/laptop_phases.ts KUBECONFIG NAMESPACE NAME early|seed
 *
 * @module
 */
import { warmTls } from "../src/warm_tls.ts";

const firstLine = performance.timeOrigin + performance.now();
const [kubeconfig, namespace, name, mode] = Deno.args;
const phases: Record<string, number> = {};
let last = performance.now();
const mark = (phase: string) => {
  const now = performance.now();
  phases[phase] = now - last;
  last = now;
};

if (mode === "early") {
  warmTls();
  mark("start seeding the TLS generator");
}
const { runClient } = await import("../src/cli/mod.ts");
mark("load the client");
await import("../src/local/mod.ts");
mark("load laptop mode");
const { CredentialLoader } = await import("../src/kube/config.ts");
const { KubeClient } = await import("../src/kube/client.ts");
const credentials = new CredentialLoader({ kubeconfig, inCluster: false });
await credentials.load();
mark("read the credentials");
if (mode === "seed") {
  await crypto.subtle.generateKey(
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["sign"],
  );
  mark("seed the TLS generator on the main thread");
}
const path =
  `/apis/dorgu.io/v1/namespaces/${namespace}/applicationpersonas?${new URLSearchParams(
    { fieldSelector: `metadata.name=${name}`, limit: "500" },
  )}`;
const first = new KubeClient(credentials);
await first.json(path);
mark("first request");
const second = new KubeClient(credentials);
await second.json(path);
mark("a request on a new connection");
first.close();
second.close();
// The whole command, as main.ts runs it, now that nothing is cold (its
// table goes to stdout before the result line).
await runClient("get", [
  "personas",
  name,
  "-n",
  namespace,
  "--kubeconfig",
  kubeconfig,
]);
mark("the whole get, warm");
console.log(`result ${JSON.stringify({ firstLine, phases })}`);
