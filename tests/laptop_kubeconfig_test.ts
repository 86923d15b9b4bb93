/**
 * Laptop mode's kubeconfig and credentials, where kubectl's habits and a
 * user's secrets are at stake: entries kubectl itself writes half-empty,
 * credentials that must not leave over plain HTTP, credential plugins
 * that never end or print without end, what a plugin hands back, and
 * certificates that cannot be used. Each is one line and an exit code, in
 * time, and no token, password or plugin output is ever printed. The API
 * server is a scripted fake (support/fake_apiserver.ts); the client is
 * main.ts as the binary runs it.
 */
import assert from "node:assert/strict";
import { dump } from "js-yaml";
import { createCa } from "./support/certs.ts";
import { apiList, apiPersona, serveFakeApi } from "./support/fake_apiserver.ts";
import { runCli } from "./support/server.ts";

const unsanitized = { sanitizeOps: false, sanitizeResources: false };

Deno.test({
  name:
    "entries kubectl config writes half-empty in a merged KUBECONFIG break only the contexts that use them",
  ...unsanitized,
  async fn() {
    await using api = await serveFakeApi(() => apiList([apiPersona("web")]));
    const good = await api.kubeconfig({});
    // What `kubectl config set-cluster foo`, `set-context bar` and
    // `set-credentials baz` write into an empty file.
    const extra = `${api.dir}/extra.yaml`;
    await Deno.writeTextFile(
      extra,
      dump({
        apiVersion: "v1",
        kind: "Config",
        clusters: [{ name: "foo", cluster: { server: "" } }],
        contexts: [
          { name: "bar", context: { cluster: "", user: "" } },
          { name: "uses-foo", context: { cluster: "foo", user: "" } },
        ],
        users: [{ name: "baz", user: {} }],
        "current-context": "",
        preferences: {},
      }),
    );
    const run = (context: string) =>
      runCli(["get", "ap", "--context", context], {
        env: { KUBECONFIG: `${good}:${extra}` },
      });
    const fine = await run("fake");
    assert.equal(fine.stderr, "");
    assert.equal(fine.code, 0);
    assert.match(fine.stdout, /^ns +web +web +api /m);
    const bar = await run("bar");
    assert.equal(
      bar.stderr,
      "dorgu-ws: The kubeconfig's context bar names no cluster; fix the kubeconfig (kubectl config set-context bar --cluster NAME).\n",
    );
    assert.equal(bar.code, 1);
    const foo = await run("uses-foo");
    assert.equal(
      foo.stderr,
      `dorgu-ws: The kubeconfig ${extra} is not valid: clusters.0.cluster.server: server must be a URL; fix the file.\n`,
    );
    assert.equal(foo.code, 1);
    const missing = await runCli(["get", "ap", "--context", "fake"], {
      env: { KUBECONFIG: `${api.dir}/gone.yaml` },
    });
    assert.equal(
      missing.stderr,
      `dorgu-ws: No kubeconfig: none of the files KUBECONFIG names (${api.dir}/gone.yaml) exists; fix KUBECONFIG, or pass --kubeconfig PATH.\n`,
    );
    assert.equal(missing.code, 1);
  },
});

Deno.test({
  name:
    "credentials go only over TLS, as kubectl sends them: an http:// server gets no token, password or plugin run",
  ...unsanitized,
  async fn() {
    const answer = () => apiList([apiPersona("web")]);
    await using plain = await serveFakeApi(answer);
    await using tls = await serveFakeApi(answer, { tls: true });
    const ran = `${plain.dir}/ran`;
    const plugin = await plain.plugin(
      "plugin",
      `touch ${ran}\necho '{"apiVersion":"client.authentication.k8s.io/v1beta1","kind":"ExecCredential","status":{"token":"plugin-token"}}'`,
    );
    const users = [
      { token: "secret-token" },
      { username: "me", password: "secret-password" },
      { exec: { command: plugin, interactiveMode: "Never" } },
    ];
    for (const user of users) {
      for (const api of [plain, tls]) {
        const result = await runCli([
          "get",
          "ap",
          "--kubeconfig",
          await api.kubeconfig(user),
        ]);
        assert.equal(result.stderr, "");
        assert.equal(result.code, 0);
        if (api === plain) {
          await assert.rejects(Deno.stat(ran), Deno.errors.NotFound);
        }
      }
    }
    assert.deepEqual(plain.seen.map((r) => r.authorization), [
      null,
      null,
      null,
    ]);
    assert.deepEqual(tls.seen.map((r) => r.authorization), [
      "Bearer secret-token",
      `Basic ${btoa("me:secret-password")}`,
      "Bearer plugin-token",
    ]);
    assert.ok((await Deno.stat(ran)).isFile);
  },
});

Deno.test({
  name:
    "a credential plugin that never ends, or prints without end, is stopped: one line, exit 1, within --timeout",
  ...unsanitized,
  async fn() {
    await using api = await serveFakeApi(() => apiList([]), { tls: true });
    const plugin = async (name: string, script: string) =>
      await api.kubeconfig({
        exec: {
          command: await api.plugin(name, script),
          interactiveMode: "Never",
        },
      });
    const cases: [string, RegExp][] = [
      [
        await plugin("forever", "exec sleep 600"),
        /^dorgu-ws: The credential plugin \S+forever of context fake \(user me\) did not finish within 1 s, so it was stopped; one that waits for a login needs to run from a terminal\.\n$/,
      ],
      [
        await plugin("endless", "exec cat /dev/zero"),
        /^dorgu-ws: The credential plugin \S+endless of context fake \(user me\) printed more than 1 MiB; it was stopped \(an ExecCredential is a few KiB\)\.\n$/,
      ],
    ];
    for (const [kubeconfig, line] of cases) {
      const started = Date.now();
      const result = await runCli([
        "get",
        "ap",
        "--kubeconfig",
        kubeconfig,
        "--timeout",
        "1s",
      ]);
      assert.match(result.stderr, line);
      assert.equal(result.code, 1);
      assert.ok(Date.now() - started < 6000, `took ${Date.now() - started} ms`);
    }
    assert.equal(api.seen.length, 0);
  },
});

Deno.test({
  name:
    "a token no HTTP header can carry is refused in one line that does not print it",
  ...unsanitized,
  async fn() {
    await using api = await serveFakeApi(() => apiList([]), { tls: true });
    // printf, not echo: sh's echo would turn the escapes into characters.
    const plugin = await api.plugin(
      "plugin",
      `printf '%s\\n' '{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","status":{"token":"s3cret-from-plugin\\r\\nX-Other: 1"}}'`,
    );
    const users = [
      {
        exec: {
          apiVersion: "client.authentication.k8s.io/v1",
          command: plugin,
          interactiveMode: "Never",
        },
      },
      { token: "s3cret-in-file\u0001" },
    ];
    for (const user of users) {
      const result = await runCli([
        "get",
        "ap",
        "--kubeconfig",
        await api.kubeconfig(user),
      ]);
      assert.equal(
        result.stderr,
        "dorgu-ws: The credential of context fake (user me) has a line break or another character an HTTP header cannot carry; fix the kubeconfig, or what its credential plugin prints.\n",
      );
      assert.equal(result.code, 1);
    }
    assert.equal(api.seen.length, 0);
  },
});

Deno.test({
  name:
    "provideClusterInfo hands a plugin the cluster's client.authentication.k8s.io/exec extension as spec.cluster.config, as client-go does",
  ...unsanitized,
  async fn() {
    await using api = await serveFakeApi(() => apiList([]), { tls: true });
    const info = `${api.dir}/info.json`;
    const plugin = await api.plugin(
      "plugin",
      `printf '%s' "$KUBERNETES_EXEC_INFO" > ${info}\necho '{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","status":{"token":"t"}}'`,
    );
    const kubeconfig = await api.kubeconfig({
      exec: {
        apiVersion: "client.authentication.k8s.io/v1",
        command: plugin,
        interactiveMode: "Never",
        provideClusterInfo: true,
      },
    }, {
      extensions: [
        { name: "something-else", extension: { no: true } },
        {
          name: "client.authentication.k8s.io/exec",
          extension: { audience: "lab", scopes: ["a", "b"] },
        },
      ],
    });
    const result = await runCli(["get", "ap", "--kubeconfig", kubeconfig]);
    assert.equal(result.code, 0, result.stderr);
    const cluster = JSON.parse(await Deno.readTextFile(info)).spec.cluster;
    assert.equal(cluster.server, api.server);
    assert.deepEqual(cluster.config, { audience: "lab", scopes: ["a", "b"] });
  },
});

Deno.test({
  name:
    "a plugin's output that is no ExecCredential is described, never quoted (it may be a token)",
  ...unsanitized,
  async fn() {
    await using api = await serveFakeApi(() => apiList([]), { tls: true });
    const plugin = await api.plugin(
      "plugin",
      `echo '{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","status":"s3cret-token"}'`,
    );
    const result = await runCli([
      "get",
      "ap",
      "--kubeconfig",
      await api.kubeconfig({
        exec: {
          apiVersion: "client.authentication.k8s.io/v1",
          command: plugin,
          interactiveMode: "Never",
        },
      }),
    ]);
    assert.equal(
      result.stderr,
      `dorgu-ws: The credential plugin ${plugin} of context fake (user me) printed no ExecCredential (status: expected Object).\n`,
    );
    assert.equal(result.code, 1);
  },
});

Deno.test({
  name:
    "a kubeconfig value of the wrong type is described, never quoted: a password YAML reads as a number is not printed",
  ...unsanitized,
  async fn() {
    await using api = await serveFakeApi(() => apiList([]), { tls: true });
    const kubeconfig = `${api.dir}/numbers.yaml`;
    await Deno.writeTextFile(
      kubeconfig,
      `clusters:\n- name: lab\n  cluster: {server: "${api.server}"}\nusers:\n- name: u\n  user: {username: admin, password: 918273645}\ncontexts:\n- name: c\n  context: {cluster: lab, user: u}\ncurrent-context: c\n`,
    );
    const result = await runCli(["get", "ap", "--kubeconfig", kubeconfig]);
    assert.equal(
      result.stderr,
      `dorgu-ws: The kubeconfig ${kubeconfig} is not valid: users.0.user.password: expected string; fix the file.\n`,
    );
    assert.equal(result.code, 1);
  },
});

Deno.test({
  name:
    "a JSON kubeconfig that does not parse is one line that quotes none of it: an unquoted token is not printed, for get and the dashboard",
  ...unsanitized,
  async fn() {
    const dir = await Deno.makeTempDir();
    const kubeconfig = `${dir}/config.json`;
    const token = "kq7Rz2Wp9XvT4mLs8NbY";
    await Deno.writeTextFile(
      kubeconfig,
      `{"clusters":[{"name":"lab","cluster":{"server":"https://127.0.0.1:6443"}}],"users":[{"name":"u","user":{"token": ${token}}}],"contexts":[{"name":"c","context":{"cluster":"lab","user":"u"}}],"current-context":"c"}\n`,
    );
    for (const command of [["get", "ap"], ["dashboard", "--no-browser"]]) {
      const result = await runCli([...command, "--kubeconfig", kubeconfig]);
      assert.equal(
        result.stderr,
        `dorgu-ws: Cannot read the kubeconfig ${kubeconfig}: it is not valid JSON (a value that is not quoted, or a stray character); fix the file.\n`,
      );
      assert.equal(result.code, 1);
      assert.ok(!result.stdout.includes(token.slice(0, 4)));
    }
  },
});

Deno.test({
  name:
    "certificate data that is not base64, not a certificate, or a key that does not match is one line naming it, for get and the dashboard",
  ...unsanitized,
  async fn() {
    await using api = await serveFakeApi(() => apiList([]), { tls: true });
    const one = await createCa(api.dir, "one");
    await createCa(api.dir, "two");
    const keyOfTwo = await Deno.readTextFile(`${api.dir}/two.key`);
    const unusable = (detail: string) =>
      `dorgu-ws: The client certificate or key of context fake (user me) cannot be used (${detail}); fix client-certificate and client-key (or their -data) in the kubeconfig.\n`;
    const cases: [Record<string, unknown>, Record<string, unknown>, string][] =
      [
        [
          {},
          {
            "certificate-authority-data": "!!!",
          },
          "dorgu-ws: The certificate-authority-data of context fake (user me) is not base64; fix the kubeconfig.\n",
        ],
        [
          {
            "client-key-data": "%%%",
            "client-certificate-data": btoa(one.cert),
          },
          {},
          "dorgu-ws: The client-key-data of context fake (user me) is not base64; fix the kubeconfig.\n",
        ],
        [
          {
            "client-certificate-data": btoa("not a certificate"),
            "client-key-data": btoa(keyOfTwo),
          },
          {},
          unusable("No certificates found in certificate data"),
        ],
        [
          {
            "client-certificate-data": btoa(one.cert),
            "client-key-data": btoa(keyOfTwo),
          },
          {},
          unusable("keys may not be consistent: KeyMismatch"),
        ],
      ];
    for (const [user, cluster, line] of cases) {
      const result = await runCli([
        "get",
        "ap",
        "--kubeconfig",
        await api.kubeconfig(user, cluster),
      ]);
      assert.equal(result.stderr, line);
      assert.equal(result.code, 1);
    }
    // The dashboard stops too: waiting will not heal it.
    const dashboard = await runCli([
      "dashboard",
      "--no-browser",
      "--kubeconfig",
      await api.kubeconfig(cases[3][0]),
    ], { timeoutMs: 10_000 });
    assert.equal(
      dashboard.stderr,
      unusable("keys may not be consistent: KeyMismatch"),
    );
    assert.equal(dashboard.code, 1);
  },
});
