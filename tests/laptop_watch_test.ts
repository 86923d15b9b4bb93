/**
 * `dorgu-ws watch` and `get -w` straight from the cluster (laptop mode),
 * against a real kube-apiserver: the listing a server's watch prints,
 * then every change; across a restart of the API server (changes made
 * meanwhile through a second one on the same etcd), nothing lost or
 * doubled; a refusal at start is one line, not a retry loop; a namespace
 * reader, an exec plugin, event filters, `--watch-only`.
 */
import assert from "node:assert/strict";
import {
  apiPersonas,
  kubeEvent,
  patchStatus,
  persona,
  TopicView,
} from "./support/cluster_objects.ts";
import type { Apiserver, Envtest } from "./support/envtest.ts";
import {
  execKubeconfig,
  namespaceReader,
  startLaptopCluster,
} from "./support/laptop.ts";
import { type CliProcess, spawnCli } from "./support/proc.ts";
import { delay, eventually, type ServerProcess } from "./support/server.ts";
import type { Message } from "./support/ws_client.ts";

const unsanitized = { sanitizeOps: false, sanitizeResources: false };
const PERSONAS = "/apis/dorgu.io/v1/namespaces";
let env: Envtest;
let writer: Apiserver;
let served: ServerProcess;
let admin: string;
let url: string;

/** `dorgu-ws ARGS`, stopped (SIGINT) when the test is done with it. */
async function withCli<T>(
  args: string[],
  use: (cli: CliProcess) => Promise<T>,
): Promise<T> {
  const cli = spawnCli(args);
  try {
    return await use(cli);
  } finally {
    await cli.stop();
  }
}

// A listed or changed persona as a watch line prints it, without the time.
const untimed = (line: string) => line.replace(/^\S+\s+/, "");

Deno.test({
  name: "start a cluster, a second API server for writes, and a server",
  ...unsanitized,
  async fn() {
    ({ env, admin, served, url } = await startLaptopCluster());
    writer = await env.startSecondary();
  },
});

Deno.test({
  name:
    "watch lists what a server's watch lists, then prints each change as it does",
  ...unsanitized,
  async fn() {
    const args = ["watch", "ap", "-n", "team-a"];
    await withCli(
      [...args, "--kubeconfig", admin],
      (direct) =>
        withCli([...args, "--url", url], async (remote) => {
          const listed = (line: string) => / listed /.test(line);
          const [mine, theirs] = await Promise.all([
            direct.waitFor(listed, { count: 2 }),
            remote.waitFor(listed, { count: 2 }),
          ]);
          assert.deepEqual(mine.map(untimed), theirs.map(untimed));
          assert.deepEqual(mine.map(untimed), [
            "listed    team-a/orders  phase=Active health=Healthy",
            "listed    team-a/payments  phase=Degraded health=Degraded",
          ]);
          await patchStatus(
            env.primary,
            `${PERSONAS}/team-a/applicationpersonas/payments`,
            { phase: "Active" },
          );
          const changed = (line: string) => / updated /.test(line);
          const [update, same] = await Promise.all([
            direct.waitFor(changed),
            remote.waitFor(changed),
          ]);
          assert.deepEqual(update.map(untimed), same.map(untimed));
          assert.deepEqual(update.map(untimed), [
            "updated   team-a/payments  phase=Active health=Degraded",
          ]);
          assert.deepEqual(direct.stderr, []);
        }),
    );
  },
});

Deno.test({
  name:
    "watch across a restart of the API server: what changed meanwhile comes out once, nothing lost or doubled",
  ...unsanitized,
  async fn() {
    await withCli(
      ["watch", "ap", "-A", "-o", "json", "--kubeconfig", admin],
      async (cli) => {
        const view = new TopicView(["phase", "health"]);
        const [first] = await cli.waitFor(() => true);
        view.list(JSON.parse(first) as Message, "personas");
        let applied = 1;
        const converged = () =>
          eventually(async () => {
            for (const line of cli.stdout.slice(applied)) {
              view.apply(JSON.parse(line) as Message);
            }
            applied = cli.stdout.length;
            assert.deepEqual(view.snapshot(), await apiPersonas(writer));
          }, 30_000);
        const path = (ns: string, name = "") =>
          `${PERSONAS}/${ns}/applicationpersonas${name ? `/${name}` : ""}`;
        await writer.api("POST", path("team-b"), persona("team-b", "cart"));
        await patchStatus(writer, path("team-b", "search"), {
          phase: "Active",
        });
        await converged();

        await env.primary.stop();
        await writer.api(
          "POST",
          path("team-b", ""),
          persona("team-b", "promo"),
        );
        await patchStatus(writer, path("team-a", "orders"), {
          phase: "Failed",
          health: { status: "Unhealthy" },
        });
        await writer.api("DELETE", path("team-b", "cart"));
        await delay(3000);
        await env.primary.start();
        await patchStatus(writer, path("team-b", "promo"), { phase: "Active" });
        await converged();
        // The outage was told once, and so was its end.
        await cli.waitFor((line) => / again\.$/.test(line), {
          stream: "stderr",
        });
        const trouble = cli.stderr.filter((l) => /retrying/.test(l));
        assert.ok(trouble.length >= 1, cli.stderr.join("\n"));
        assert.match(
          trouble[0],
          /^dorgu-ws: Cannot read applicationpersonas\.dorgu\.io\/v1 in all namespaces; retrying \(/,
        );
      },
    );
  },
});

Deno.test({
  name:
    "a service account that may read one namespace: watch -n there follows it; watch -A is one line and exit 1, not a retry loop",
  ...unsanitized,
  async fn() {
    const reader = await namespaceReader(env, "team-a");
    await withCli(
      ["watch", "ap", "-n", "team-a", "--kubeconfig", reader],
      async (cli) => {
        await cli.waitFor((line) => / listed +team-a\/orders /.test(line));
      },
    );
    const started = performance.now();
    const refused = spawnCli(["watch", "ap", "-A", "--kubeconfig", reader]);
    const { code } = await refused.status;
    await refused.stop();
    assert.equal(code, 1);
    assert.deepEqual(refused.stderr, [
      `dorgu-ws: applicationpersonas.dorgu.io is forbidden: User "system:serviceaccount:team-a:reader" cannot list resource "applicationpersonas" in API group "dorgu.io" at the cluster scope; ask for one namespace you may read with -n NAMESPACE.`,
    ]);
    assert.ok(performance.now() - started < 10_000);
  },
});

Deno.test({
  name:
    "an exec plugin's credential follows the cluster; get -w prints rows, watch events --watch-only the new Warning only",
  ...unsanitized,
  async fn() {
    const { path } = await execKubeconfig(env);
    await withCli(
      ["watch", "cp", "--kubeconfig", path],
      async (cli) => {
        await cli.waitFor((line) => / listed +lab-spec /.test(line));
        await patchStatus(
          env.primary,
          "/apis/dorgu.io/v1/clusterpersonas/lab",
          { nodes: [{ name: "n1" }, { name: "n2" }] },
        );
        await cli.waitFor((line) =>
          / nodeAdded +lab-spec +node=n2 /.test(line)
        );
      },
    );
    await withCli(
      ["get", "ap", "-n", "team-b", "-w", "--kubeconfig", admin],
      async (cli) => {
        await cli.waitFor((line) => /^search /.test(line));
        await patchStatus(
          env.primary,
          `${PERSONAS}/team-b/applicationpersonas/search`,
          { phase: "Degraded" },
        );
        const [row] = await cli.waitFor((line) => / Degraded /.test(line));
        assert.match(row, /^search +search +worker +standard +Degraded /);
        assert.match(cli.stdout[0], /^NAME +APP +TYPE +TIER +PHASE +HEALTH$/);
      },
    );
    await withCli(
      [
        "watch",
        "events",
        "-n",
        "team-a",
        "--type",
        "Warning",
        "--watch-only",
        "--kubeconfig",
        admin,
      ],
      async (cli) => {
        // Time to list and start watching before the Event is made.
        await delay(1500);
        await env.api(
          "POST",
          "/api/v1/namespaces/team-a/events",
          kubeEvent("team-a", "orders-2.17c3", {
            involved: "orders-5c8d7f9b2-hn4lz",
            reason: "Unhealthy",
          }),
        );
        const [line] = await cli.waitFor((l) => /Unhealthy/.test(l));
        assert.match(
          line,
          /^\S+ +Warning +team-a\/Pod\/orders-5c8d7f9b2-hn4lz +Unhealthy: Unhealthy for orders-5c8d7f9b2-hn4lz$/,
        );
        assert.equal(cli.stdout.length, 1, "the history is not printed");
      },
    );
  },
});

Deno.test({
  name: "stop the cluster",
  ...unsanitized,
  async fn() {
    await served?.stop();
    await env?.stop();
  },
});
