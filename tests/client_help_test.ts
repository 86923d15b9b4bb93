/**
 * The client's commands about itself, run as the binary runs: `version`
 * (client and server), help for every command, and shell completion in
 * bash, zsh and fish.
 */
import assert from "node:assert/strict";
import manifest from "../deno.json" with { type: "json" };
import { RUNTIME_PERMISSIONS } from "../tools/permissions.ts";
import { closedUrl, DENO_DIR, runCli, spawnExample } from "./support/server.ts";
import { configHome } from "./support/proc.ts";

const unsanitized = { sanitizeOps: false, sanitizeResources: false };

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
