/**
 * Where the time of `get NAME --context` goes, in one fresh process
 * (prints one `result {json}` line, ms): loading the client, loading
 * laptop mode, reading the credentials, the first request (TLS set-up
 * included), the same request on a new connection once the process has
 * made one, and the whole `get` once everything is loaded and warm.
 *
 *   deno run -A bench/laptop_phases.ts KUBECONFIG NAMESPACE NAME
 */
const started = performance.now();
const [kubeconfig, namespace, name] = Deno.args;
const phases: Record<string, number> = {};
let last = started;
const mark = (phase: string) => {
  const now = performance.now();
  phases[phase] = now - last;
  last = now;
};

const { runClient } = await import("../src/cli/mod.ts");
mark("load the client");
await import("../src/local/mod.ts");
mark("load laptop mode");
const { CredentialLoader } = await import("../src/kube/config.ts");
const { KubeClient } = await import("../src/kube/client.ts");
const credentials = new CredentialLoader({ kubeconfig, inCluster: false });
await credentials.load();
mark("read the credentials");
const path =
  `/apis/dorgu.io/v1/namespaces/${namespace}/applicationpersonas?${new URLSearchParams(
    { fieldSelector: `metadata.name=${name}`, limit: "500" },
  )}`;
const first = new KubeClient(credentials);
await first.json(path);
mark("first request (TLS set-up)");
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
console.log(`result ${JSON.stringify(phases)}`);
