/**
 * The client's own settings and the commands around it, run as the binary
 * runs: server variables never reach the client; DORGU_WS_URL and
 * DORGU_WS_TOKEN do, and errors name them; the config file of named
 * servers; `version` (client and server); help and completion; and
 * installing with `deno install` as the README says.
 */
import assert from "node:assert/strict";
import manifest from "../deno.json" with { type: "json" };
import { envName } from "../src/flags.ts";
import { CLIENT_FLAGS } from "../src/cli/client_flags.ts";
import { SERVE_FLAGS } from "../src/server/config.ts";
import { RUNTIME_PERMISSIONS, V8_FLAGS_ARG } from "../tools/permissions.ts";
import {
  closedUrl,
  DENO_DIR,
  type ExampleServer,
  runCli,
  spawnExample,
} from "./support/server.ts";

const unsanitized = { sanitizeOps: false, sanitizeResources: false };

/** A server that wants the bearer token `s3cret`. */
async function guardedServer(): Promise<ExampleServer> {
  const tokens = await Deno.makeTempFile();
  await Deno.writeTextFile(tokens, "s3cret,ops\n");
  return await spawnExample(["--auth", "token", "--token-file", tokens]);
}

/** An empty config directory, so no developer's own file takes part. */
async function configHome(
  files: Record<string, string> = {},
): Promise<string> {
  const home = await Deno.makeTempDir({ prefix: "dorgu-ws-config-" });
  await Deno.mkdir(`${home}/dorgu-ws`);
  for (const [name, text] of Object.entries(files)) {
    await Deno.writeTextFile(`${home}/dorgu-ws/${name}`, text);
  }
  return home;
}

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
    await using demo = await guardedServer();
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
    await using guarded = await guardedServer();
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
  name: "version: the client's build, and the server's from /version",
  ...unsanitized,
  async fn() {
    await using demo = await spawnExample();
    const client = new RegExp(
      `^Client Version: ${
        manifest.version.replaceAll(".", "\\.")
      } \\(commit \\S+, Deno ${
        Deno.version.deno.replaceAll(".", "\\.")
      }, ${Deno.build.target}\\)$`,
    );
    for (const args of [["version"], ["--version"], ["-v"]]) {
      const result = await runCli(args);
      assert.equal(result.code, 0, result.stderr);
      assert.match(result.stdout.trim(), client, args[0]);
    }
    const served = await fetch(`http://127.0.0.1:${demo.server.port}/version`);
    assert.equal(served.headers.get("content-type"), "application/json");
    const info = await served.json();
    assert.deepEqual(Object.keys(info), [
      "version",
      "commit",
      "deno",
      "target",
    ]);
    assert.equal(info.version, manifest.version);

    const both = await runCli(["version", "--url", demo.url]);
    assert.equal(both.code, 0, both.stderr);
    const [clientLine, serverLine] = both.stdout.trim().split("\n");
    assert.match(clientLine, client);
    assert.equal(
      serverLine,
      `Server Version: ${info.version} (commit ${info.commit}, Deno ${info.deno}, ${info.target})`,
    );
    const json = await runCli(["version", "-o", "json"], {
      env: { DORGU_WS_URL: demo.url },
    });
    assert.deepEqual(JSON.parse(json.stdout).serverVersion, info);

    const down = await runCli(["version", "--url", closedUrl()]);
    assert.equal(down.code, 1);
    assert.match(down.stdout.trim(), client);
    assert.match(
      down.stderr,
      /^dorgu-ws: Cannot read the server's version from http:\/\/127\.0\.0\.1:\d+\/version: .+\.\n$/,
    );
  },
});

Deno.test("help: 'help COMMAND' is 'COMMAND --help', and every help has examples", async () => {
  for (
    const command of [
      "get",
      "watch",
      "serve",
      "dashboard",
      "version",
      "completion",
    ]
  ) {
    const viaHelp = await runCli(["help", command]);
    const viaFlag = await runCli([command, "--help"]);
    assert.equal(viaHelp.code, 0, viaHelp.stderr);
    assert.equal(viaHelp.stdout, viaFlag.stdout, command);
    assert.match(viaHelp.stdout, new RegExp(`^Usage: dorgu-ws ${command}`));
    assert.match(viaHelp.stdout, /\nExamples:\n {2}/, command);
  }
  const top = await runCli(["--help"]);
  assert.match(top.stdout, /\nExamples:\n/);
  const get = await runCli(["get", "--help"]);
  for (
    const flag of [
      "-A, --all-namespaces",
      "--no-headers",
      "-l, --selector",
      "-w, --watch",
      "--watch-only",
      "--for KIND/NAME",
      "--server NAME",
    ]
  ) {
    assert.ok(get.stdout.includes(flag), flag);
  }
  assert.doesNotMatch(get.stdout, /env DORGU_WS_(NAMESPACE|OUTPUT|TIMEOUT)/);
  assert.match(get.stdout, /--url URL .*\(env DORGU_WS_URL\)/);
  const unknown = await runCli(["help", "deploy"]);
  assert.equal(unknown.code, 2);
  assert.equal(
    unknown.stderr,
    "dorgu-ws: No help for 'deploy'; the commands are serve, get, watch, dashboard, version, completion.\n",
  );
});

async function has(program: string): Promise<boolean> {
  try {
    const { success } = await new Deno.Command(program, {
      args: ["--version"],
      stdout: "null",
      stderr: "null",
    }).output();
    return success;
  } catch {
    return false;
  }
}

async function shell(
  program: string,
  script: string,
  env: Record<string, string> = {},
): Promise<string> {
  const output = await new Deno.Command(program, {
    args: ["-c", script],
    env: { DENO_DIR, ...env },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const stderr = new TextDecoder().decode(output.stderr);
  assert.ok(output.success, `${program}: ${stderr}`);
  return new TextDecoder().decode(output.stdout);
}

// The completion scripts call `dorgu-ws completion servers`; a tiny
// dorgu-ws on PATH runs main.ts as the binary would.
async function onPath(): Promise<string> {
  const bin = await Deno.makeTempDir();
  await Deno.writeTextFile(
    `${bin}/dorgu-ws`,
    `#!/bin/sh\nexec '${Deno.execPath()}' run ${
      RUNTIME_PERMISSIONS.join(" ")
    } '${new URL("../main.ts", import.meta.url).pathname}' "$@"\n`,
  );
  await Deno.chmod(`${bin}/dorgu-ws`, 0o755);
  return bin;
}

Deno.test("completion: bash completes commands, resources, flags, -o values, named servers and kubeconfig contexts", async () => {
  const bin = await onPath();
  const xdg = await configHome({
    "config.yaml":
      "servers:\n  lab:\n    url: ws://localhost:9090/ws\n  prod:\n    url: ws://localhost:9091/ws\n",
  });
  const kubeconfig = `${xdg}/kubeconfig`;
  await Deno.writeTextFile(
    kubeconfig,
    "clusters:\n- name: c\n  cluster: {server: 'https://127.0.0.1:6443'}\ncontexts:\n- name: kind-dev\n  context: {cluster: c}\n- name: prod\n  context: {cluster: c}\n",
  );
  const env = {
    PATH: `${bin}:${Deno.env.get("PATH")}`,
    XDG_CONFIG_HOME: xdg,
    KUBECONFIG: kubeconfig,
  };
  const complete = async (line: string) => {
    const words = line.split(" ");
    return (await shell(
      "bash",
      `source <(dorgu-ws completion bash)
COMP_WORDS=(${words.map((w) => `'${w}'`).join(" ")}); COMP_CWORD=${
        words.length - 1
      }
_dorgu_ws; printf '%s\\n' "\${COMPREPLY[@]}"`,
      env,
    )).trim().split("\n").filter(Boolean);
  };
  assert.deepEqual(await complete("dorgu-ws g"), ["get"]);
  assert.deepEqual(await complete("dorgu-ws get de"), [
    "deployments",
    "deployment",
    "deploy",
  ]);
  assert.deepEqual(await complete("dorgu-ws watch a"), [
    "ap",
    "applicationpersonas",
    "applicationpersona",
  ]);
  assert.deepEqual(await complete("dorgu-ws get ap -o "), [
    "table",
    "wide",
    "name",
    "json",
    "yaml",
  ]);
  assert.deepEqual(await complete("dorgu-ws watch ap -o "), ["text", "json"]);
  assert.ok((await complete("dorgu-ws get ap --w")).includes("--watch-only"));
  assert.deepEqual(await complete("dorgu-ws get ap --server "), [
    "lab",
    "prod",
  ]);
  assert.deepEqual(await complete("dorgu-ws watch ap --context "), [
    "kind-dev",
    "prod",
  ]);
  assert.deepEqual(
    await complete("dorgu-ws get -n production "),
    await complete("dorgu-ws get "),
  );
  assert.deepEqual(
    await complete("dorgu-ws get ap "),
    [],
    "a resource is already there",
  );
  assert.ok((await complete("dorgu-ws serve --lo")).includes("--log-level"));
  assert.deepEqual(await complete("dorgu-ws da"), ["dashboard"]);
  assert.deepEqual(await complete("dorgu-ws dashboard --no"), ["--no-browser"]);
  assert.deepEqual(
    await complete("dorgu-ws dashboard --context prod --a"),
    ["--address", "--allow-non-loopback"],
  );
  assert.deepEqual(await complete("dorgu-ws dashboard --context "), [
    "kind-dev",
    "prod",
  ]);
  assert.deepEqual(await complete("dorgu-ws completion "), [
    "bash",
    "zsh",
    "fish",
  ]);
});

Deno.test({
  name: "completion: zsh (through bashcompinit) and fish load and complete",
  ignore: !(await has("zsh")) || !(await has("fish")),
  async fn() {
    const bin = await onPath();
    const env = {
      PATH: `${bin}:${Deno.env.get("PATH")}`,
      HOME: await Deno.makeTempDir(),
    };
    // zsh runs the bash function through bashcompinit, which turns on
    // ksharrays for it and leaves filtering by prefix to compadd.
    const zsh = await shell(
      "zsh",
      `source <(dorgu-ws completion zsh)
print -r -- \${_comps[dorgu-ws]}
setopt ksharrays
COMP_WORDS=(dorgu-ws get -o); COMP_CWORD=3; _dorgu_ws; print -r -- "\${COMPREPLY[*]}"
COMP_WORDS=(dorgu-ws watch ''); COMP_CWORD=2; _dorgu_ws; print -r -- "\${COMPREPLY[*]}"`,
      env,
    );
    const [registered, outputs, resources] = zsh.trim().split("\n");
    assert.equal(registered, "_bash_complete -F _dorgu_ws");
    assert.equal(outputs, "table wide name json yaml");
    assert.match(resources, /^personas persona ap .* events event ev$/);
    const fish = await shell(
      "fish",
      `dorgu-ws completion fish | source; complete -C 'dorgu-ws get ap --no-h'; complete -C 'dorgu-ws watch c'`,
      env,
    );
    assert.match(fish, /^--no-headers\tPrint tables without the header line$/m);
    assert.match(fish, /^cp$/m);
    assert.match(fish, /^clusterpersona$/m);
  },
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
