/**
 * The client's own settings, run as the binary runs: server variables
 * never reach the client; DORGU_WS_URL and DORGU_WS_TOKEN do, and errors
 * name them; the config file of named servers; and installing with
 * `deno install` as the README says. Version, help and completion are in
 * client_help_test.ts.
 */
import assert from "node:assert/strict";
import { envName } from "../src/flags.ts";
import { CLIENT_FLAGS } from "../src/cli/client_flags.ts";
import { SERVE_FLAGS } from "../src/server/config.ts";
import { RUNTIME_PERMISSIONS, V8_FLAGS_ARG } from "../tools/permissions.ts";
import {
  closedUrl,
  DENO_DIR,
  runCli,
  spawnExample,
  spawnGuardedExample,
} from "./support/server.ts";
import { configHome } from "./support/proc.ts";

const unsanitized = { sanitizeOps: false, sanitizeResources: false };

Deno.test({
  name: "no server variable changes what the client does",
  ...unsanitized,
  async fn() {
    await using demo = await spawnExample();
    const xdg = await configHome();
    // Every DORGU_WS_* name either table knows but the client's two, set
    // to values that would break the client if it read them.
    const hostile: Record<string, string> = {};
    for (
      const name of [...Object.keys(SERVE_FLAGS), ...Object.keys(CLIENT_FLAGS)]
    ) {
      hostile[envName(name)] = "production,Bad_VALUE";
    }
    delete hostile.DORGU_WS_URL;
    delete hostile.DORGU_WS_TOKEN;
    assert.ok(hostile.DORGU_WS_NAMESPACE && hostile.DORGU_WS_OUTPUT);
    for (
      const args of [
        ["get", "cluster"],
        ["get", "personas"],
        ["get", "events", "-n", "staging"],
        ["version"],
      ]
    ) {
      const plain = await runCli([...args, "--url", demo.url], {
        env: { XDG_CONFIG_HOME: xdg },
      });
      const withServerEnv = await runCli([...args, "--url", demo.url], {
        env: { XDG_CONFIG_HOME: xdg, ...hostile },
      });
      assert.equal(plain.code, 0, plain.stderr);
      assert.deepEqual(withServerEnv, plain, args.join(" "));
    }
  },
});

Deno.test({
  name:
    "DORGU_WS_URL and DORGU_WS_TOKEN set the server and token; errors name the variable",
  ...unsanitized,
  async fn() {
    await using demo = await spawnGuardedExample();
    const xdg = await configHome();
    const env = { XDG_CONFIG_HOME: xdg, DORGU_WS_URL: demo.url };
    const ok = await runCli(["get", "cp", "-o", "name"], {
      env: { ...env, DORGU_WS_TOKEN: "s3cret" },
    });
    assert.equal(ok.code, 0, ok.stderr);
    assert.equal(ok.stdout, "clusterpersona.dorgu.io/eu-west-prod\n");
    const refused = await runCli(["get", "cp"], {
      env: { ...env, DORGU_WS_TOKEN: "wrong" },
    });
    assert.equal(refused.code, 1);
    assert.match(
      refused.stderr,
      /refused the token \(HTTP 401\); check --token, DORGU_WS_TOKEN/,
    );
    const badUrl = await runCli(["get", "cp"], {
      env: { XDG_CONFIG_HOME: xdg, DORGU_WS_URL: "localhost:9090" },
    });
    assert.equal(badUrl.code, 2);
    assert.match(
      badUrl.stderr,
      /^dorgu-ws: DORGU_WS_URL must be a ws:\/\/ or wss:\/\/ URL, got 'localhost:9090'; use ws:\/\/host:port\/ws or wss:\/\/\.\.\.\.\n/,
    );
    // A URL without a path means the server's /ws.
    const bare = await runCli(
      ["get", "cp", "-o", "name", "--token", "s3cret"],
      {
        env: {
          XDG_CONFIG_HOME: xdg,
          DORGU_WS_URL: demo.url.replace("/ws", ""),
        },
      },
    );
    assert.equal(bare.code, 0, bare.stderr);
  },
});

Deno.test({
  name:
    "named servers in the config file: current, --server, token-file, a default namespace",
  ...unsanitized,
  async fn() {
    await using open = await spawnExample();
    await using guarded = await spawnGuardedExample();
    const xdg = await configHome({
      "config.yaml": `current: lab
servers:
  lab:
    url: ${open.url}
    namespace: staging
  prod:
    url: ${guarded.url}
    token-file: prod.token
`,
      "prod.token": "s3cret\n",
    });
    const env = { XDG_CONFIG_HOME: xdg };
    const current = await runCli(["get", "ap"], { env });
    assert.equal(current.code, 0, current.stderr);
    assert.match(
      current.stdout,
      /^NAME +APP/,
      "the server's namespace hides the column",
    );
    assert.equal(current.stdout.trim().split("\n").length, 3);
    const all = await runCli(["get", "ap", "-A", "--no-headers"], { env });
    assert.equal(all.stdout.trim().split("\n").length, 6);
    const other = await runCli([
      "get",
      "ap",
      "-n",
      "production",
      "--no-headers",
    ], { env });
    assert.equal(other.stdout.trim().split("\n").length, 4);
    const prod = await runCli(["get", "cp", "-o", "name", "--server", "prod"], {
      env,
    });
    assert.equal(prod.code, 0, prod.stderr);
    // The file's own token wins over DORGU_WS_TOKEN for a server named
    // with --server; --token wins over both.
    const named = await runCli(["get", "cp", "--server", "prod"], {
      env: { ...env, DORGU_WS_TOKEN: "wrong" },
    });
    assert.equal(named.code, 0, named.stderr);
    const flag = await runCli([
      "get",
      "cp",
      "--server",
      "prod",
      "--token",
      "wrong",
    ], { env });
    assert.equal(flag.code, 1);
    // DORGU_WS_URL and --url win over the current server.
    const byEnv = await runCli(["get", "ap", "--no-headers"], {
      env: { ...env, DORGU_WS_URL: open.url },
    });
    assert.equal(byEnv.stdout.trim().split("\n").length, 6);
    const missing = await runCli(["get", "ap", "--server", "qa"], { env });
    assert.equal(missing.code, 2);
    assert.equal(
      missing.stderr.split("\n")[0],
      `dorgu-ws: --server qa: no such server in ${xdg}/dorgu-ws/config.yaml; it has lab, prod.`,
    );
    // Without XDG_CONFIG_HOME the file is ~/.config/dorgu-ws/config.yaml.
    const home = await Deno.makeTempDir();
    await Deno.mkdir(`${home}/.config`);
    await Deno.rename(`${xdg}/dorgu-ws`, `${home}/.config/dorgu-ws`);
    const byHome = await runCli(["get", "ap", "--no-headers"], {
      env: { HOME: home, XDG_CONFIG_HOME: "" },
    });
    assert.equal(byHome.code, 0, byHome.stderr);
    assert.equal(byHome.stdout.trim().split("\n").length, 2);
  },
});

Deno.test("a broken config file is one line naming the file and the fault; --url does without it", async () => {
  const cases: [string, RegExp][] = [
    ["servers: [unclosed", /is not valid YAML \(.*\); fix the file\.$/],
    [
      "servers:\n  lab:\n    url: http://localhost:9090/ws\n",
      /: servers\.lab\.url: url must be a ws:\/\/ or wss:\/\/ URL; fix the file\.$/,
    ],
    [
      "servers:\n  lab:\n    url: ws://localhost:9090/ws\n    ca: /etc/ca.pem\n",
      /: unknown key servers\.lab\.ca; a server has url, token, token-file, namespace, ca-file and insecure-skip-tls-verify, or context, kubeconfig and namespace; fix the file\.$/,
    ],
    [
      "servers:\n  lab:\n    namespace: prod\n",
      /: servers\.lab has no url, context or kubeconfig; give the url of a dorgu-ws server or the kubeconfig context of a cluster\.$/,
    ],
    [
      "servers:\n  lab:\n    url: ws://localhost:9090/ws\n    context: lab\n",
      /: servers\.lab has both url and context: a url names a dorgu-ws server, a context the cluster itself; keep one\.$/,
    ],
    [
      "servers:\n  lab:\n    context: lab\n    token: s3cret\n",
      /: servers\.lab names a cluster, which is read with the kubeconfig's own credentials: token applies to a dorgu-ws server \(url\) only; drop it\.$/,
    ],
    [
      "servers:\n  lab:\n    url: wss://localhost:9090/ws\n    ca-file: ca.pem\n    insecure-skip-tls-verify: true\n",
      /: servers\.lab has both ca-file and insecure-skip-tls-verify; keep one\.$/,
    ],
    [
      "servers:\n  lab:\n    url: wss://localhost:9090/ws\n    insecure-skip-tls-verify: yes please\n",
      /: servers\.lab\.insecure-skip-tls-verify: insecure-skip-tls-verify must be true or false; fix the file\.$/,
    ],
    [
      "current: lab\nservers:\n  lab:\n    url: wss://localhost:9090/ws\n    ca-file: missing.pem\n",
      /: servers\.lab\.ca-file \S+missing\.pem cannot be read \(.*\); fix the path\.$/,
    ],
    [
      "current: prod\nservers:\n  lab:\n    url: ws://localhost:9090/ws\n",
      /: current names 'prod', which is not under servers; fix the file\.$/,
    ],
    [
      "servers:\n  lab:\n    url: ws://localhost:9090/ws\n    token: a\n    token-file: b\n",
      /: servers\.lab has both token and token-file; keep one\.$/,
    ],
    [
      "current: lab\nservers:\n  lab:\n    url: ws://localhost:9090/ws\n    token-file: missing.token\n",
      /: servers\.lab\.token-file \S+missing\.token cannot be read \(.*\); fix the path\.$/,
    ],
    [
      "current: lab\nservers:\n  lab:\n    url: ws://localhost:9090/ws\n    namespace: Prod\n",
      /: servers\.lab\.namespace: A namespace is lower-case/,
    ],
  ];
  for (const [text, pattern] of cases) {
    const xdg = await configHome({ "config.yaml": text });
    const result = await runCli(["get", "ap", "--timeout", "1s"], {
      env: { XDG_CONFIG_HOME: xdg },
    });
    assert.equal(result.code, 2, `${text}: ${result.stderr}`);
    const [line] = result.stderr.split("\n");
    assert.ok(
      line.startsWith(`dorgu-ws: ${xdg}/dorgu-ws/config.yaml`),
      line,
    );
    assert.match(line, pattern, text);
    // With --url the file decides nothing and is not read.
    const bypass = await runCli(["get", "ap", "--url", closedUrl()], {
      env: { XDG_CONFIG_HOME: xdg },
    });
    assert.match(bypass.stderr, /connection refused/);
  }
});
Deno.test({
  name:
    "deno install with the README's command puts a working dorgu-ws on PATH",
  ...unsanitized,
  async fn() {
    await using demo = await spawnExample();
    const root = await Deno.makeTempDir({ prefix: "dorgu-ws-install-" });
    const checkout = new URL("../", import.meta.url).pathname;
    // The README's command, word for word, run from the checkout.
    const args = [
      "install",
      "-g",
      "-f",
      "-n",
      "dorgu-ws",
      "--config",
      "deno.json",
      ...RUNTIME_PERMISSIONS,
      V8_FLAGS_ARG,
      "main.ts",
    ];
    const readme = await Deno.readTextFile(`${checkout}README.md`);
    const shown = /^deno install -g (?:.*\\\n)*.*$/m.exec(readme)?.[0];
    assert.deepEqual(
      shown?.replace(/\\\n/g, " ").split(/\s+/).slice(1),
      args,
    );
    const install = await new Deno.Command(Deno.execPath(), {
      args,
      cwd: checkout,
      env: { DENO_INSTALL_ROOT: root, DENO_DIR },
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.ok(install.success, new TextDecoder().decode(install.stderr));
    // The memory reducer needs the flag the binary is built with.
    assert.match(
      await Deno.readTextFile(`${root}/bin/dorgu-ws`),
      /--v8-flags=--expose-gc/,
    );
    // Run from elsewhere, as a user would once it is on PATH.
    for (
      const args of [["version"], [
        "get",
        "cp",
        "-o",
        "name",
        "--url",
        demo.url,
      ]]
    ) {
      const run = await new Deno.Command(`${root}/bin/dorgu-ws`, {
        args,
        cwd: root,
        env: {
          DENO_DIR,
          PATH: `${Deno.execPath().replace(/\/[^/]+$/, "")}:/usr/bin:/bin`,
        },
        stdout: "piped",
        stderr: "piped",
      }).output();
      const stderr = new TextDecoder().decode(run.stderr);
      assert.ok(run.success, `${args.join(" ")}: ${stderr}`);
      assert.equal(stderr, "");
      const stdout = new TextDecoder().decode(run.stdout);
      assert.match(
        stdout,
        args[0] === "version"
          ? /^Client Version: /
          : /^clusterpersona\.dorgu\.io\/eu-west-prod\n$/,
      );
    }
  },
});
