/**
 * kubectl's habits in `dorgu-ws get` and `watch`, run as the binary runs
 * against a real server on a copy of the example cluster: short names,
 * NAME arguments, -A, -o wide|name, --no-headers, -l, events like
 * `kubectl events`, `get -w`, `watch` with and without the current state,
 * and a watch that ends when the reader of its pipe does.
 */
import assert from "node:assert/strict";
import { readLines } from "./support/lines.ts";
import { spawnCli } from "./support/proc.ts";
import {
  binaryCommand,
  delay,
  DENO_DIR,
  editFile,
  eventually,
  runCli,
  spawnExample,
} from "./support/server.ts";

const unsanitized = { sanitizeOps: false, sanitizeResources: false };

async function get(url: string, ...args: string[]) {
  return await runCli(["get", ...args, "--url", url]);
}

Deno.test({
  name: "short, singular and CRD names list the same as the plural",
  ...unsanitized,
  async fn() {
    await using demo = await spawnExample();
    const aliases: Record<string, string[]> = {
      personas: ["ap", "persona", "applicationpersonas", "ApplicationPersona"],
      cluster: ["cp", "clusters", "clusterpersona"],
      deployments: ["deploy", "deployment"],
      events: ["ev", "event"],
    };
    for (const [plural, names] of Object.entries(aliases)) {
      const expected = await get(demo.url, plural, "-o", "json");
      assert.equal(expected.code, 0, expected.stderr);
      for (const name of names) {
        const actual = await get(demo.url, name, "-o", "json");
        assert.equal(actual.code, 0, `${name}: ${actual.stderr}`);
        assert.equal(actual.stdout, expected.stdout, name);
      }
    }
  },
});

Deno.test({
  name: "watch takes the same names: its listing is what get lists",
  ...unsanitized,
  async fn() {
    await using demo = await spawnExample();
    for (
      const [short, plural] of [["ap", "personas"], ["cp", "cluster"], [
        "deploy",
        "deployments",
      ], ["ev", "events"]]
    ) {
      const listed = JSON.parse(
        (await get(demo.url, plural, "-o", "json")).stdout,
      );
      const watch = spawnCli(["watch", short, "-o", "json", "--url", demo.url]);
      try {
        const [first] = await watch.waitFor(() => true);
        const { type, payload } = JSON.parse(first);
        assert.equal(type, "response", short);
        const items = short === "cp" ? [payload] : payload[plural];
        assert.deepEqual(
          items.map((item: { name: string }) => item.name).sort(),
          listed.items.map((item: { name: string }) => item.name).sort(),
          short,
        );
        assert.equal(await watch.stop("SIGINT"), 0);
      } finally {
        await watch.stop();
      }
    }
  },
});

Deno.test({
  name:
    "get NAME...: one or more objects by name, a missing one is one line and exit 1",
  ...unsanitized,
  async fn() {
    await using demo = await spawnExample();
    const both = await get(demo.url, "personas", "order-service");
    assert.equal(both.code, 0, both.stderr);
    assert.equal(
      both.stdout,
      "NAMESPACE    NAME            APP             TYPE   TIER       PHASE     HEALTH\n" +
        "production   order-service   order-service   api    critical   Active    Healthy\n" +
        "staging      order-service   order-service   api    critical   Pending   Unknown\n",
    );
    const one = await get(
      demo.url,
      "persona",
      "order-service",
      "-n",
      "staging",
    );
    assert.equal(
      one.stdout,
      "NAME            APP             TYPE   TIER       PHASE     HEALTH\n" +
        "order-service   order-service   api    critical   Pending   Unknown\n",
    );
    const two = await get(
      demo.url,
      "ap",
      "storefront",
      "invoice-worker",
      "-n",
      "production",
      "-o",
      "name",
    );
    assert.equal(
      two.stdout,
      "applicationpersona.dorgu.io/invoice-worker\napplicationpersona.dorgu.io/storefront\n",
    );
    const missing = await get(
      demo.url,
      "ap",
      "storefront",
      "nope",
      "-n",
      "production",
    );
    assert.equal(missing.code, 1);
    assert.match(missing.stdout, /^storefront +storefront +web/m);
    assert.equal(
      missing.stderr,
      `dorgu-ws: applicationpersona "nope" not found in namespace production; list them with 'dorgu-ws get personas -n production'.\n`,
    );
    const deployment = await get(demo.url, "deploy", "search-api");
    assert.match(
      deployment.stdout,
      /^staging +search-api +0\/2 +2 +0 +progressing +search-api$/m,
    );
    // The cluster by its spec.name and by its object name.
    for (const name of ["eu-west-prod"]) {
      const cluster = await get(demo.url, "cp", name, "-o", "name");
      assert.equal(cluster.stdout, "clusterpersona.dorgu.io/eu-west-prod\n");
    }
    const noCluster = await get(demo.url, "cp", "us-east-dev");
    assert.equal(noCluster.code, 1);
    assert.equal(noCluster.stderr.trim().split("\n").length, 1);
    assert.match(noCluster.stderr, /^dorgu-ws: /);
  },
});

Deno.test({
  name: "-A, --no-headers, -o name and -o wide",
  ...unsanitized,
  async fn() {
    await using demo = await spawnExample();
    const all = await get(demo.url, "ap", "-A", "--no-headers");
    assert.equal(all.code, 0, all.stderr);
    const rows = all.stdout.trim().split("\n");
    assert.equal(rows.length, 6);
    assert.match(
      rows[0],
      /^production +invoice-worker +invoice-worker +worker/,
    );
    const names = await get(
      demo.url,
      "deploy",
      "-n",
      "production",
      "-o",
      "name",
    );
    assert.equal(
      names.stdout,
      [
        "deployment.apps/invoice-worker",
        "deployment.apps/order-service",
        "deployment.apps/payment-gateway",
        "deployment.apps/storefront",
        "",
      ].join("\n"),
    );
    const events = await get(demo.url, "ev", "-n", "staging", "-o", "name");
    assert.deepEqual(events.stdout.trim().split("\n").sort(), [
      "applicationpersona.dorgu.io/order-service",
      "applicationpersona.dorgu.io/search-api",
      "event/search-api-6f5d4c3b2-9xk2m.17c1a2b3c4d5e700",
    ]);
    const wide = await get(
      demo.url,
      "ev",
      "-n",
      "staging",
      "-o",
      "wide",
      "--no-headers",
      "--reason",
      "FailedScheduling",
    );
    assert.match(
      wide.stdout,
      /^\S+ +Warning +FailedScheduling +Pod\/search-api-6f5d4c3b2-9xk2m +0\/3 nodes are available: 3 Insufficient memory\. +6 +search-api-6f5d4c3b2-9xk2m\.17c1a2b3c4d5e700\n$/,
    );
  },
});

Deno.test({
  name: "-l selects on the columns the data has",
  ...unsanitized,
  async fn() {
    await using demo = await spawnExample();
    const critical = await get(
      demo.url,
      "ap",
      "-l",
      "tier=critical",
      "-o",
      "name",
    );
    assert.equal(
      critical.stdout,
      "applicationpersona.dorgu.io/order-service\napplicationpersona.dorgu.io/payment-gateway\napplicationpersona.dorgu.io/order-service\n",
    );
    const notActive = await get(
      demo.url,
      "ap",
      "-l",
      "tier==critical,phase!=Active",
      "--no-headers",
    );
    assert.deepEqual(
      notActive.stdout.trim().split("\n").map((l) => l.split(/ +/).slice(0, 2)),
      [["production", "payment-gateway"], ["staging", "order-service"]],
    );
    const failed = await get(
      demo.url,
      "deploy",
      "-l",
      "rollout=failed",
      "-o",
      "name",
    );
    assert.equal(failed.stdout, "deployment.apps/invoice-worker\n");
    const none = await get(demo.url, "cp", "-l", "environment=staging");
    assert.equal(none.code, 0);
    assert.equal(none.stdout, "");
    assert.equal(none.stderr, "No cluster found.\n");
  },
});

Deno.test({
  name:
    "get events: validation results and Kubernetes Events, oldest first, with kubectl events' filters",
  ...unsanitized,
  async fn() {
    await using demo = await spawnExample();
    const all = await get(demo.url, "events");
    assert.equal(all.code, 0, all.stderr);
    const lines = all.stdout.trimEnd().split("\n");
    assert.match(
      lines[0],
      /^NAMESPACE +LAST SEEN +TYPE +REASON +OBJECT +MESSAGE$/,
    );
    assert.equal(lines.length, 11);
    // Kubernetes Events by lastTimestamp, whatever order the server logged them.
    assert.deepEqual(
      lines.filter((l) => !l.includes("<unknown>")).slice(1).map((l) =>
        l.split(/ +/)[3]
      ),
      ["ScalingReplicaSet", "FailedScheduling", "Unhealthy", "BackOff"],
    );
    assert.ok(
      lines.some((l) =>
        /^production +<unknown> +Warning +ValidationFailed +ApplicationPersona\/payment-gateway +2 issues, highest error: replicas below minimum; runAsNonRoot not enforced$/
          .test(l)
      ),
      all.stdout,
    );
    assert.ok(
      lines.some((l) =>
        /^production +\d+[smhdy]\S* +Warning +BackOff +Pod\/invoice-worker-5c8d7f9b2-hn4lz +Back-off restarting/
          .test(l)
      ),
      all.stdout,
    );

    const warnings = await get(
      demo.url,
      "ev",
      "--type",
      "warning",
      "-n",
      "production",
    );
    const warningLines = warnings.stdout.trimEnd().split("\n");
    assert.match(warningLines[0], /^LAST SEEN +TYPE/, "no NAMESPACE under -n");
    assert.equal(warningLines.length, 5);
    assert.ok(warningLines.slice(1).every((l) => / Warning /.test(l)));

    const reason = await get(
      demo.url,
      "ev",
      "--reason",
      "BackOff",
      "-o",
      "json",
    );
    const list = JSON.parse(reason.stdout);
    assert.equal(list.kind, "List");
    assert.deepEqual(list.items.map((e: { name: string }) => e.name), [
      "invoice-worker-5c8d7f9b2-hn4lz.17c1a2b3c4d5e6f8",
    ]);

    const persona = await get(
      demo.url,
      "ev",
      "--for",
      "persona/search-api",
      "--no-headers",
    );
    assert.match(
      persona.stdout,
      /^staging +<unknown> +Warning +ValidationFailed +ApplicationPersona\/search-api +2 issues, highest warning: no memory limit set; readiness probe uses the liveness path\n$/,
    );
    const pod = await get(
      demo.url,
      "ev",
      "--for",
      "pod/payment-gateway-7d9f8b6c4-x2kqp",
      "-o",
      "name",
    );
    assert.equal(
      pod.stdout,
      "event/payment-gateway-7d9f8b6c4-x2kqp.17c1a2b3c4d5e6f7\n",
    );
    const deploy = await get(
      demo.url,
      "ev",
      "--for",
      "deploy/order-service",
      "--no-headers",
    );
    assert.match(
      deploy.stdout,
      /^production +\S+ +Normal +ScalingReplicaSet +Deployment\/order-service/,
    );

    // --limit keeps the newest N of what the filters let through.
    const filtered = await get(
      demo.url,
      "ev",
      "--type",
      "Warning",
      "--no-headers",
    );
    const limited = await get(
      demo.url,
      "ev",
      "--type",
      "Warning",
      "--no-headers",
      "--limit",
      "2",
    );
    // Same rows; the columns are as wide as the rows each prints.
    const rows = (text: string) =>
      text.trimEnd().split("\n").map((line) => line.replace(/ +/g, " "));
    assert.deepEqual(rows(limited.stdout), rows(filtered.stdout).slice(-2));
    assert.equal(limited.stdout.trimEnd().split("\n").length, 2);
  },
});

Deno.test({
  name: "get -w prints the table, then one row per change lined up under it",
  ...unsanitized,
  async fn() {
    await using demo = await spawnExample();
    const personas = spawnCli([
      "get",
      "ap",
      "-n",
      "production",
      "-w",
      "--url",
      demo.url,
    ]);
    const cluster = spawnCli(["get", "cp", "-w", "--url", demo.url]);
    try {
      await personas.waitFor((l) => l.startsWith("storefront "));
      await cluster.waitFor((l) => l.startsWith("eu-west-prod "));
      await editFile(`${demo.dir}/production/personas.yaml`, {
        from: "phase: Failed",
        to: "phase: Active",
      });
      // A persona the listing did not have: its row is looked up whole.
      await Deno.writeTextFile(
        `${demo.dir}/production/checkout.yaml`,
        `apiVersion: dorgu.io/v1
kind: ApplicationPersona
metadata:
  name: checkout
  namespace: production
  uid: 9f000000-0000-4000-8000-000000000001
spec:
  name: checkout
  type: web
  tier: critical
status:
  phase: Pending
  health:
    status: Unknown
`,
      );
      await editFile(`${demo.dir}/cluster.yaml`, {
        from: "kubernetesVersion: v1.29.4",
        to: "kubernetesVersion: v1.30.1",
      });
      await personas.waitFor((l) => l.startsWith("checkout "));
      await cluster.waitFor((l) => l.includes("v1.30.1"));
      assert.deepEqual(personas.stdout, [
        "NAME              APP               TYPE     TIER       PHASE      HEALTH",
        "invoice-worker    invoice-worker    worker   standard   Failed     Unhealthy",
        "order-service     order-service     api      critical   Active     Healthy",
        "payment-gateway   payment-gateway   api      critical   Degraded   Degraded",
        "storefront        storefront        web      frontend   Active     Healthy",
        "invoice-worker    invoice-worker    worker   standard   Active     Unhealthy",
        "checkout          checkout          web      critical   Pending    Unknown",
      ]);
      assert.equal(cluster.stdout.length, 3, cluster.stdout.join("\n"));
      assert.match(
        cluster.stdout[2],
        /^eu-west-prod +production +Ready +v1\.30\.1 +EKS +3 +6 +argocd,prometheus,cert-manager$/,
      );
      assert.equal(await personas.stop("SIGINT"), 0);
      assert.equal(await cluster.stop("SIGINT"), 0);
      assert.deepEqual(personas.stderr, []);
    } finally {
      await personas.stop();
      await cluster.stop();
    }
  },
});

Deno.test({
  name:
    "watch prints the current state (for events, the history) first; --watch-only prints changes alone",
  ...unsanitized,
  async fn() {
    await using demo = await spawnExample();
    const state = spawnCli(["watch", "ap", "-n", "staging", "--url", demo.url]);
    const changes = spawnCli([
      "watch",
      "ap",
      "--watch-only",
      "--url",
      demo.url,
    ]);
    const events = spawnCli([
      "watch",
      "events",
      "--type",
      "Warning",
      "-n",
      "production",
      "--url",
      demo.url,
    ]);
    try {
      const listed = await state.waitFor((l) => l.includes(" listed "), {
        count: 2,
      });
      assert.match(
        listed[0],
        /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ {2}listed {4}staging\/order-service {2}phase=Pending health=Unknown$/,
      );
      // The seeded history: Events at their own time, oldest first, then
      // the validation results as of the listing.
      const history = await events.waitFor(() => true, { count: 4 });
      assert.deepEqual(history.slice(0, 2), [
        "2026-03-23T09:57:30Z  Warning     production/Pod/payment-gateway-7d9f8b6c4-x2kqp  Unhealthy: Readiness probe failed: HTTP probe failed with statuscode: 503 (x14)",
        "2026-03-23T09:58:10Z  Warning     production/Pod/invoice-worker-5c8d7f9b2-hn4lz  BackOff: Back-off restarting failed container worker in pod invoice-worker-5c8d7f9b2-hn4lz (x42)",
      ]);
      assert.deepEqual(
        history.slice(2).map((l) => l.replace(/^\S+ {2}/, "")).sort(),
        [
          "validation  production/invoice-worker  failed (1 issue, highest error): liveness probe path /healthz returns 404",
          "validation  production/payment-gateway  failed (2 issues, highest error): replicas below minimum; runAsNonRoot not enforced",
        ],
      );
      await delay(500);
      assert.deepEqual(changes.stdout, [], "--watch-only lists nothing");

      await editFile(`${demo.dir}/staging/staging.json`, {
        from: '"phase": "Pending"',
        to: '"phase": "Active"',
      });
      await editFile(`${demo.dir}/production/personas.yaml`, {
        from: "liveness probe path /healthz returns 404",
        to: "liveness probe path /live returns 500",
      });
      const [change] = await changes.waitFor((l) => l.includes("staging/"));
      assert.match(
        change,
        /^\S+ {2}updated {3}staging\/order-service {2}phase=Active health=Unknown$/,
      );
      await state.waitFor((l) => l.includes(" updated "));
      await events.waitFor((l) => l.includes("/live returns 500"));
      assert.equal(state.stdout.length, 3, state.stdout.join("\n"));
      assert.equal(events.stdout.length, 5, events.stdout.join("\n"));
      for (const proc of [state, changes, events]) {
        assert.equal(await proc.stop("SIGINT"), 0);
        assert.deepEqual(proc.stderr, []);
      }
    } finally {
      await state.stop();
      await changes.stop();
      await events.stop();
    }
  },
});

Deno.test({
  name:
    "watch ... | head -1 exits soon after the next event once head has gone",
  ...unsanitized,
  async fn() {
    await using demo = await spawnExample();
    const quote = (arg: string) => `'${arg.replaceAll("'", "'\\''")}'`;
    const watch = [
      Deno.execPath(),
      ...binaryCommand([
        "watch",
        "personas",
        "--watch-only",
        "--url",
        demo.url,
      ]),
    ].map(quote).join(" ");
    // A real pipe into a real head. bash reports the watch's pid (to end
    // it if this test fails) and how it exited.
    const shell = new Deno.Command("bash", {
      args: [
        "-c",
        `${watch} > >(head -1) & pid=$!; echo "pid $pid" >&2; wait $pid; echo "dorgu-ws exited $?" >&2; wait`,
      ],
      env: { NO_COLOR: "1", DENO_DIR },
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const stdout: string[] = [];
    const stderr: string[] = [];
    const reading = Promise.all([
      readLines(shell.stdout, (line) => stdout.push(line)),
      readLines(shell.stderr, (line) => stderr.push(line)),
    ]);
    try {
      // --watch-only shows nothing from before its subscription: the edit
      // waits for the server to count it (a fixed pause lost the race on
      // a loaded machine).
      await eventually(async () => {
        const metrics = await fetch(
          demo.url.replace(/^ws:/, "http:").replace(/\/ws$/, "/metrics"),
        ).then((response) => response.text());
        assert.match(
          metrics,
          /^dorgu_ws_subscriptions\{topic="personas"\} 1$/m,
        );
      });
      await editFile(`${demo.dir}/production/personas.yaml`, {
        from: "phase: Failed",
        to: "phase: Pending",
      });
      // head prints the first change and exits; dorgu-ws learns it on its
      // next write, so the pipeline ends soon after the next event.
      await eventually(() =>
        assert.equal(stdout.length, 1, "head printed the first change")
      );
      await editFile(`${demo.dir}/production/personas.yaml`, {
        from: "phase: Pending",
        to: "phase: Active",
      });
      const changed = Date.now();
      const ended = await Promise.race([
        shell.status.then(() => true),
        delay(10_000).then(() => false),
      ]);
      assert.ok(ended, "the pipeline did not end after the next event");
      const tookMs = Date.now() - changed;
      assert.ok(tookMs < 5000, `the pipeline took ${tookMs} ms to end`);
      await reading;
      assert.match(
        stdout.join("\n"),
        /^\S+ {2}updated {3}production\/invoice-worker {2}phase=Pending health=Unhealthy$/,
      );
      assert.equal(stderr.length, 2, stderr.join("\n"));
      assert.equal(stderr[1], "dorgu-ws exited 0");
    } finally {
      if (!stderr.some((line) => line.startsWith("dorgu-ws exited"))) {
        const pid = Number(stderr.find((l) => l.startsWith("pid "))?.slice(4));
        for (
          const kill of [
            () => Deno.kill(pid, "SIGKILL"),
            () => shell.kill("SIGKILL"),
          ]
        ) {
          try {
            if (pid) kill();
          } catch {
            // Gone already.
          }
        }
      }
      await reading;
      await shell.status;
    }
  },
});
