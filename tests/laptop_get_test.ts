/**
 * `dorgu-ws get` straight from the cluster (laptop mode), against a real
 * kube-apiserver: what it prints equals what the same command prints
 * against `serve` of the same cluster; the kubeconfig forms a user has (a
 * client certificate in YAML with files beside it, a service account's
 * token, an exec plugin); RBAC, an unreachable API server and missing CRDs
 * as one line each; which cluster `--context` and `--kubeconfig` mean; and
 * the compiled binary doing the same.
 */
import assert from "node:assert/strict";
import type { Envtest } from "./support/envtest.ts";
import {
  execKubeconfig,
  namespaceReader,
  startLaptopCluster,
} from "./support/laptop.ts";
import { runCli, type ServerProcess } from "./support/server.ts";
import { compiledBinary } from "./tools/compiled.ts";

const unsanitized = { sanitizeOps: false, sanitizeResources: false };
let env: Envtest;
let served: ServerProcess;
let url: string;
let admin: string;

// The commands a user types, each run against the cluster and the server.
const COMMANDS: string[][] = [
  ["get", "personas"],
  ["get", "ap", "-A", "--no-headers"],
  ["get", "ap", "-n", "team-a", "-o", "wide"],
  ["get", "persona", "payments", "-n", "team-a", "-o", "yaml"],
  ["get", "ap", "orders"],
  ["get", "ap", "orders", "search", "nope", "-o", "name"],
  ["get", "ap", "-l", "phase!=Active", "-o", "json"],
  ["get", "cp"],
  ["get", "cp", "lab", "-o", "yaml"],
  ["get", "deploy", "-o", "wide"],
  ["get", "deploy", "orders", "-n", "team-a", "-o", "json"],
  ["get", "ev"],
  ["get", "ev", "-n", "team-a", "--type", "Warning"],
  ["get", "ev", "--reason", "ValidationFailed", "-o", "name"],
  ["get", "ev", "--for", "persona/payments", "-o", "wide"],
  ["get", "ev", "-n", "team-b", "--limit", "1"],
];

Deno.test({
  name: "start a cluster with personas, and serve it for comparison",
  ...unsanitized,
  async fn() {
    ({ env, admin, served, url } = await startLaptopCluster());
  },
});

Deno.test({
  name:
    "get with an admin client certificate prints exactly what get prints against serve of the same cluster",
  ...unsanitized,
  async fn() {
    for (const command of COMMANDS) {
      const [direct, remote] = await Promise.all([
        runCli([...command, "--kubeconfig", admin]),
        runCli([...command, "--url", url]),
      ]);
      const what = command.join(" ");
      assert.equal(direct.code, remote.code, `${what}: ${direct.stderr}`);
      assert.equal(direct.stderr, remote.stderr, what);
      // The events topic is a log seeded by the first listings, and a
      // server's informers race each other to it: validation results and
      // Events may come in either order there. The direct path lists
      // personas first, always. The two commands print an Event's age a
      // moment apart, so a second may tick between them (and with it the
      // column's width): ages are compared as a placeholder.
      const lines = (text: string) =>
        command[1] === "ev" ? text.split("\n").map(withoutAges).sort() : text;
      assert.deepEqual(lines(direct.stdout), lines(remote.stdout), what);
    }
    const table = await runCli(["get", "ap", "-A", "--kubeconfig", admin]);
    assert.equal(
      table.stdout,
      [
        "NAMESPACE   NAME       APP        TYPE     TIER       PHASE      HEALTH",
        "team-a      orders     orders     api      critical   Active     Healthy",
        "team-a      payments   payments   api      critical   Degraded   Degraded",
        "team-b      orders     orders     api      critical   Pending    Unknown",
        "team-b      search     search     worker   standard   Failed     Unhealthy",
        "",
      ].join("\n"),
    );
    const missing = await runCli([
      "get",
      "ap",
      "nope",
      "-n",
      "team-a",
      "--kubeconfig",
      admin,
    ]);
    assert.equal(missing.code, 1);
    assert.equal(
      missing.stderr,
      `dorgu-ws: applicationpersona "nope" not found in namespace team-a; list them with 'dorgu-ws get personas -n team-a'.\n`,
    );
  },
});

Deno.test({
  name:
    "--kubeconfig alone uses its current context; --context alone reads $KUBECONFIG, then ~/.kube/config; a config entry may name a context",
  ...unsanitized,
  async fn() {
    const broken = `${env.dir}/laptop-broken`;
    await env.writeKubeconfig(broken, { token: "x" }, {
      server: "https://127.0.0.1:1",
    });
    const home = await Deno.makeTempDir();
    const get = (args: string[], vars: Record<string, string>) =>
      runCli(["get", "ap", "-n", "team-b", "--no-headers", ...args], {
        env: { HOME: home, KUBECONFIG: "", XDG_CONFIG_HOME: home, ...vars },
      });
    const rows = "orders   orders   api      critical   Pending   Unknown\n" +
      "search   search   worker   standard   Failed    Unhealthy\n";
    // The first file names lab-admin; the broken one comes second.
    const merged = await get(["--context", "lab-admin"], {
      KUBECONFIG: `${admin}:${broken}`,
    });
    assert.equal(merged.code, 0, merged.stderr);
    assert.equal(merged.stdout, rows);
    const wrong = await get(["--context", "mars"], {
      KUBECONFIG: `${admin}:${broken}`,
    });
    assert.equal(wrong.code, 1);
    assert.equal(
      wrong.stderr,
      "dorgu-ws: The kubeconfig has no context named mars; it has lab-admin, envtest.\n",
    );
    const none = await get(["--context", "envtest"], {});
    assert.equal(none.code, 1);
    assert.equal(
      none.stderr,
      "dorgu-ws: No kubeconfig: pass --kubeconfig, set KUBECONFIG, or create ~/.kube/config (the file kubectl reads).\n",
    );
    await Deno.mkdir(`${home}/.kube`);
    await Deno.copyFile(env.kubeconfig, `${home}/.kube/config`);
    const fromHome = await get(["--context", "envtest"], {});
    assert.equal(fromHome.stdout, rows, fromHome.stderr);
    const alone = await get(["--kubeconfig", admin], {});
    assert.equal(alone.stdout, rows, alone.stderr);

    await Deno.mkdir(`${home}/dorgu-ws`);
    await Deno.writeTextFile(
      `${home}/dorgu-ws/config.yaml`,
      `current: lab\nservers:\n  lab:\n    context: lab-admin\n    kubeconfig: ${admin}\n    namespace: team-b\n`,
    );
    const entry = await runCli(["get", "ap", "--no-headers"], {
      env: { HOME: home, XDG_CONFIG_HOME: home },
    });
    assert.equal(entry.stdout, rows, entry.stderr);
  },
});

Deno.test({
  name:
    "a malformed or hostile kubeconfig is one line naming the file: YAML aliases multiplying, a FIFO, a wrong shape",
  ...unsanitized,
  async fn() {
    const dir = await Deno.makeTempDir();
    let bomb = "a: &a [x, x, x, x, x, x, x, x, x]\n";
    for (let i = 1; i < 200; i++) {
      const last = i === 1 ? "a" : `n${i - 1}`;
      bomb += `n${i}: &n${i} [*${last}, *${last}]\n`;
    }
    await Deno.writeTextFile(`${dir}/bomb`, `${bomb}clusters: [*n199]\n`);
    await Deno.writeTextFile(`${dir}/shape`, "clusters: 5\n");
    await new Deno.Command("mkfifo", { args: [`${dir}/fifo`] }).output();
    const cases: [string, RegExp][] = [
      ["bomb", /: aliases exceeded maxAliases \(100\) in .*; fix the file\.$/],
      [
        "shape",
        / is not valid: clusters: expected Array; fix the file\.$/,
      ],
      ["fifo", /: it is a FIFO \(named pipe\); fix the file\.$/],
    ];
    for (const [name, pattern] of cases) {
      const path = `${dir}/${name}`;
      const result = await runCli(["get", "ap", "--kubeconfig", path]);
      assert.equal(result.code, 1, name);
      assert.equal(result.stderr.split("\n").length, 2, result.stderr);
      assert.ok(result.stderr.startsWith(`dorgu-ws: `), result.stderr);
      assert.ok(result.stderr.includes(path), result.stderr);
      assert.match(result.stderr.trim(), pattern, name);
    }
  },
});

Deno.test({
  name: "a server and a cluster named together are a usage error that says so",
  ...unsanitized,
  async fn() {
    const cases: [string[], Record<string, string>, string][] = [
      [
        ["--context", "lab", "--url", url],
        {},
        "dorgu-ws: --url names a dorgu-ws server and --context the cluster itself; pass one of them.",
      ],
      [
        ["--kubeconfig", admin, "--server", "prod"],
        {},
        "dorgu-ws: --server names a dorgu-ws server and --kubeconfig the cluster itself; pass one of them.",
      ],
      [
        ["--context", "lab"],
        { DORGU_WS_URL: url },
        "dorgu-ws: DORGU_WS_URL names a dorgu-ws server and --context the cluster itself; unset DORGU_WS_URL or drop --context.",
      ],
      [
        ["--kubeconfig", admin, "--token", "t"],
        {},
        "dorgu-ws: --token applies to a dorgu-ws server; with --kubeconfig the kubeconfig's own credentials and CA are used, so drop --token.",
      ],
    ];
    for (const [args, vars, line] of cases) {
      const result = await runCli(["get", "ap", ...args], { env: vars });
      assert.equal(result.code, 2, args.join(" "));
      assert.equal(result.stderr.split("\n")[0], line);
      assert.equal(result.stdout, "");
    }
  },
});

Deno.test({
  name:
    "a service account that may read one namespace: -n there lists it; -A and another namespace are one line each naming what it lacks, exit 1",
  ...unsanitized,
  async fn() {
    const reader = await namespaceReader(env, "team-a");
    const own = await runCli([
      "get",
      "ap",
      "-n",
      "team-a",
      "--kubeconfig",
      reader,
    ]);
    assert.equal(own.code, 0, own.stderr);
    assert.match(own.stdout, /^payments +payments +api +critical +Degraded/m);
    const user = `User "system:serviceaccount:team-a:reader"`;
    const all = await runCli(["get", "ap", "-A", "--kubeconfig", reader]);
    assert.equal(all.code, 1);
    assert.equal(
      all.stderr,
      `dorgu-ws: applicationpersonas.dorgu.io is forbidden: ${user} cannot list resource "applicationpersonas" in API group "dorgu.io" at the cluster scope; ask for one namespace you may read with -n NAMESPACE.\n`,
    );
    const other = await runCli([
      "get",
      "deploy",
      "-n",
      "team-b",
      "--kubeconfig",
      reader,
    ]);
    assert.equal(other.code, 1);
    assert.match(
      other.stderr,
      new RegExp(
        `^dorgu-ws: (applicationpersonas\\.dorgu\\.io|deployments\\.apps) is forbidden: ${user} cannot list resource "(applicationpersonas|deployments)" in API group "(dorgu\\.io|apps)" in the namespace "team-b"\\n$`,
      ),
    );
  },
});

Deno.test({
  name:
    "an exec credential plugin (v1beta1, v1): a command relative to the kubeconfig, its args, env and KUBERNETES_EXEC_INFO; a missing one names its installHint",
  ...unsanitized,
  async fn() {
    for (const version of ["v1beta1", "v1"]) {
      const apiVersion = `client.authentication.k8s.io/${version}`;
      const { path, ran } = await execKubeconfig(env, apiVersion);
      const result = await runCli(
        ["get", "cp", "-o", "name", "--context", "envtest"],
        { env: { KUBECONFIG: path }, cwd: "/" },
      );
      assert.equal(result.code, 0, result.stderr);
      assert.equal(result.stdout, "clusterpersona.dorgu.io/lab-spec\n");
      const info = JSON.parse((await Deno.readTextFile(ran)).trim());
      assert.deepEqual(info, {
        apiVersion,
        kind: "ExecCredential",
        spec: { interactive: false },
      });
      // Another version's plugin, or nothing at all, answers: refused.
      const other = version === "v1" ? "v1beta1" : "v1";
      const plugin = path.replace(/config$/, "bin/login");
      const script = await Deno.readTextFile(plugin);
      await Deno.writeTextFile(
        plugin,
        script.replace(apiVersion, `client.authentication.k8s.io/${other}`),
      );
      const mismatch = await runCli(["get", "cp", "--kubeconfig", path]);
      assert.equal(mismatch.code, 1);
      assert.match(
        mismatch.stderr,
        new RegExp(
          `^dorgu-ws: The credential plugin \\./bin/login of context envtest \\(user user\\) answered with apiVersion client\\.authentication\\.k8s\\.io/${other}, not the ${apiVersion} it was asked for\\.\\n$`,
        ),
      );
      await Deno.remove(plugin);
      const missing = await runCli(["get", "cp", "--kubeconfig", path]);
      assert.equal(missing.code, 1);
      assert.equal(
        missing.stderr,
        "dorgu-ws: The credential plugin ./bin/login of context envtest (user user) is not installed (no such command): Install lab-login from https://example.com/lab-login.\n",
      );
    }
  },
});

Deno.test({
  name:
    "an oidc auth-provider sends its id-token while it is valid; an expired one, and the removed gcp and azure plugins, are one line each",
  ...unsanitized,
  async fn() {
    const jwt = (exp: number) =>
      ["{}", JSON.stringify({ exp, sub: "me" }), ""].map((part) =>
        btoa(part).replace(/=+$/, "")
      ).join(".");
    const path = `${env.dir}/laptop-oidc`;
    const run = async (provider: Record<string, unknown>) => {
      await env.writeKubeconfig(path, { "auth-provider": provider });
      return await runCli(["get", "cp", "--kubeconfig", path]);
    };
    const later = Math.floor(Date.now() / 1000) + 3600;
    // This API server trusts no OIDC issuer: a token sent is a 401, where
    // no token at all would be an anonymous 403.
    const sent = await run({
      name: "oidc",
      config: { "id-token": jwt(later), "client-id": "k" },
    });
    assert.equal(sent.code, 1);
    assert.equal(
      sent.stderr,
      `dorgu-ws: The API server at ${env.primary.server} did not accept the credentials of context envtest (user user) (401 Unauthorized): log in again, or fix the user in the kubeconfig.\n`,
    );
    const expired = await run({
      name: "oidc",
      config: { "id-token": jwt(later - 7200), "refresh-token": "r" },
    });
    assert.equal(
      expired.stderr,
      "dorgu-ws: The id-token of the oidc auth-provider of context envtest (user user) has expired; let kubectl refresh it (run any kubectl command, such as kubectl version), which writes the new token into the kubeconfig, then try again.\n",
    );
    const gcp = await run({ name: "gcp", config: {} });
    assert.match(
      gcp.stderr,
      /^dorgu-ws: The gcp auth plugin of context envtest \(user user\) has been removed from kubectl and dorgu-ws alike; use the gke-gcloud-auth-plugin credential plugin instead .*\n$/,
    );
  },
});

Deno.test({
  name:
    "an API server that refuses connections, or never answers, is one line within --timeout, exit 1",
  ...unsanitized,
  async fn() {
    const closed = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const closedPort = (closed.addr as Deno.NetAddr).port;
    closed.close();
    const refused = `${env.dir}/laptop-refused`;
    await env.writeKubeconfig(refused, { token: "x" }, {
      server: `https://127.0.0.1:${closedPort}`,
    });
    const result = await runCli(["get", "ap", "--kubeconfig", refused]);
    assert.equal(result.code, 1);
    assert.equal(
      result.stderr,
      `dorgu-ws: The connection to the API server at https://127.0.0.1:${closedPort} (context envtest (user user)) was refused: is the cluster running, and is the kubeconfig's server address right?\n`,
    );
    // Accepts connections and never says a word.
    const silent = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const held: Deno.Conn[] = [];
    (async () => {
      for await (const conn of silent) held.push(conn);
    })().catch(() => {});
    try {
      const port = (silent.addr as Deno.NetAddr).port;
      const mute = `${env.dir}/laptop-mute`;
      await env.writeKubeconfig(mute, { token: "x" }, {
        server: `https://127.0.0.1:${port}`,
      });
      const started = performance.now();
      const timedOut = await runCli([
        "watch",
        "ap",
        "--timeout",
        "1s",
        "--kubeconfig",
        mute,
      ]);
      const took = performance.now() - started;
      assert.equal(timedOut.code, 1);
      assert.equal(
        timedOut.stderr,
        `dorgu-ws: No answer from the API server at https://127.0.0.1:${port} (context envtest (user user)) within 1 s.\n`,
      );
      assert.ok(took < 8000, `took ${took} ms`);
    } finally {
      silent.close();
      for (const conn of held) conn.close();
    }
  },
});

Deno.test({
  name:
    "the compiled binary runs get --context against the API server: a client certificate, a token, an exec plugin",
  ...unsanitized,
  async fn() {
    const { path: binary } = await compiledBinary();
    const empty = await Deno.makeTempDir();
    const { path: exec } = await execKubeconfig(env);
    const cases: [string, string, string[]][] = [
      [admin, "lab-admin", ["get", "ap", "-A"]],
      [env.kubeconfig, "envtest", [
        "get",
        "deploy",
        "-n",
        "team-a",
        "-o",
        "wide",
      ]],
      [exec, "envtest", ["get", "cp"]],
    ];
    for (const [kubeconfig, context, command] of cases) {
      const [compiled, script] = await Promise.all([
        runCli([...command, "--context", context], {
          binary,
          cwd: empty,
          env: { KUBECONFIG: kubeconfig, HOME: empty },
        }),
        runCli([...command, "--context", context], {
          env: { KUBECONFIG: kubeconfig },
        }),
      ]);
      assert.equal(compiled.code, 0, compiled.stderr);
      assert.equal(compiled.stderr, "");
      assert.equal(compiled.stdout, script.stdout);
      assert.match(compiled.stdout, /^NAME|^NAMESPACE/);
    }
  },
});

Deno.test({
  name:
    "a cluster without the dorgu operator's CRDs is one line saying so, exit 1",
  ...unsanitized,
  async fn() {
    await env.api(
      "DELETE",
      "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/clusterpersonas.dorgu.io",
    );
    let result: Awaited<ReturnType<typeof runCli>>;
    // Deleting a CRD takes the API server a moment.
    for (let i = 0;; i++) {
      result = await runCli(["get", "cp", "--kubeconfig", admin]);
      if (result.code === 1 || i === 50) break;
    }
    assert.equal(result.code, 1);
    assert.equal(
      result.stderr,
      "dorgu-ws: The cluster of context lab-admin (user lab-admin) does not serve clusterpersonas.dorgu.io: the dorgu operator's CRDs are not installed in it; install the operator (or its CRDs) first.\n",
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

// A table line with its columns (split where at least two spaces are) and
// kubectl-style ages ("4s", "2m10s", "249d") replaced by one placeholder.
function withoutAges(line: string): string {
  return line.split(/ {2,}/).map((cell) =>
    /^\d+[smhdy](\d+[smh])?$/.test(cell) ? "<age>" : cell
  ).join(" | ");
}
