/**
 * Laptop mode against kubectl (prints one `result {json}` line): a real
 * kube-apiserver holding 1,000 ApplicationPersonas in 40 namespaces, and
 * kubectl built from the same Kubernetes version (tests/tools/
 * ensure_assets.sh kubectl). Process start to exit, medians of `rounds`,
 * each round running every command once in turn, so both sides see the
 * same machine load:
 *
 * - `get personas -A --context X` against `kubectl get applicationpersonas
 *   -A`, both printing a table into a pipe;
 * - `get personas NAME -n NS --context X` against `kubectl get ... NAME`;
 * - `version` (start-up alone) and `get` of a namespace holding one persona
 *   (start-up, credentials, TLS, one small list), for where the time goes;
 * - `get -A` again, both with `disable-compression: true` (loopback);
 * - `watch personas --context X`: a status edit through the API, from the
 *   API server's answer to the PATCH until the watch has printed it.
 *
 * dorgu-ws runs both as the compiled binary (Deno 2.7.11, as the tests
 * build it) and as `deno run` with the binary's permissions.
 *
 * @module
 */
import { readLines } from "../tests/support/lines.ts";
import { patchStatus } from "../tests/support/cluster_objects.ts";
import { Envtest } from "../tests/support/envtest.ts";
import { ensureKubectl } from "../tests/tools/setup.ts";
import { compiledBinary } from "../tests/tools/compiled.ts";
import { RUNTIME_PERMISSIONS } from "../tools/permissions.ts";
import { realisticPersona } from "./ingest.ts";

const personas = Number(Deno.args[0] ?? 1000);
const rounds = Number(Deno.args[1] ?? 15);
const MAIN = new URL("../main.ts", import.meta.url).pathname;
const PERSONAS = "/apis/dorgu.io/v1/namespaces";

/** A way to run dorgu-ws: the compiled binary, or `deno run`. */
type Runner = { name: string; argv: (args: string[]) => string[] };

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

async function seed(env: Envtest): Promise<void> {
  await env.installCrds();
  for (let team = 0; team < 40; team++) {
    await env.ensureNamespace(`team-${team}`);
  }
  await env.ensureNamespace("solo");
  const objects = Array.from(
    { length: personas },
    (_, i) => realisticPersona(i, 1) as Record<string, Record<string, string>>,
  );
  objects.push(realisticPersona(0, 1) as typeof objects[number]);
  objects[personas].metadata.namespace = "solo";
  for (let i = 0; i < objects.length; i += 20) {
    await Promise.all(
      objects.slice(i, i + 20).map(async (object) => {
        const { status, ...spec } = object;
        const { name, namespace, labels } = object.metadata;
        await env.apply([{ ...spec, metadata: { name, namespace, labels } }]);
        await patchStatus(
          env.primary,
          `${PERSONAS}/${namespace}/applicationpersonas/${name}`,
          status,
        );
      }),
    );
  }
}

/** Runs `argv` to its exit, stdout into a pipe; the time in ms. */
async function timed(argv: string[], env: Record<string, string>) {
  const started = performance.now();
  const output = await new Deno.Command(argv[0], {
    args: argv.slice(1),
    env,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const ms = performance.now() - started;
  if (!output.success || output.stdout.length === 0) {
    throw new Error(
      `${argv.join(" ")} failed: ${new TextDecoder().decode(output.stderr)}`,
    );
  }
  return ms;
}

/** The start-to-exit times of each command, interleaved round by round. */
async function race(
  commands: Record<string, string[]>,
  env: Record<string, string>,
): Promise<Record<string, number[]>> {
  const times: Record<string, number[]> = {};
  const names = Object.keys(commands);
  for (const name of names) await timed(commands[name], env); // warm caches
  for (let round = 0; round < rounds; round++) {
    // A different command goes first each round.
    for (let i = 0; i < names.length; i++) {
      const name = names[(round + i) % names.length];
      (times[name] ??= []).push(await timed(commands[name], env));
    }
  }
  return times;
}

/** p50 from an edit's PATCH answer (and from sending it) to the watch's line. */
async function watchLatency(
  runner: Runner,
  env: Envtest,
  vars: Record<string, string>,
): Promise<{ fromAnswer: number; fromSend: number }> {
  const argv = runner.argv([
    "watch",
    "personas",
    "-n",
    "team-7",
    "--context",
    "envtest",
  ]);
  const child = new Deno.Command(argv[0], {
    args: argv.slice(1),
    env: vars,
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const seen = new Map<string, number>();
  let listed = 0;
  const reading = readLines(child.stdout, (line) => {
    const now = performance.now();
    const phase = / updated +team-7\/app-00007 +phase=(\S+)/.exec(line)?.[1];
    if (phase) seen.set(phase, now);
    else if (/ listed /.test(line)) listed++;
  });
  const fromAnswer: number[] = [];
  const fromSend: number[] = [];
  try {
    while (listed < personas / 40) await delay(20);
    for (let i = 0; i < rounds; i++) {
      const phase = `Phase-${runner.name}-${i}`;
      const sent = performance.now();
      await patchStatus(
        env.primary,
        `${PERSONAS}/team-7/applicationpersonas/app-00007`,
        { phase },
      );
      const answered = performance.now();
      while (!seen.has(phase)) await delay(1);
      fromAnswer.push(seen.get(phase)! - answered);
      fromSend.push(seen.get(phase)! - sent);
      await delay(100);
    }
  } finally {
    child.kill("SIGINT");
    await child.status;
    await reading;
  }
  return { fromAnswer: median(fromAnswer), fromSend: median(fromSend) };
}

/**
 * Medians of each phase of bench/laptop_phases.ts over `rounds` processes
 * of each mode (`early`: the TLS generator seeded while the modules load,
 * as main.ts does; `seed`: seeded on the main thread, to see it alone),
 * with the runtime's start (process spawned to the script's first line).
 */
async function phases(kubeconfig: string): Promise<Record<string, number>> {
  const runs: Record<string, number[]> = {};
  const add = (phase: string, ms: number) => (runs[phase] ??= []).push(ms);
  for (let i = 0; i < rounds; i++) {
    for (const mode of ["early", "seed"]) {
      const spawned = performance.timeOrigin + performance.now();
      const output = await new Deno.Command(Deno.execPath(), {
        args: [
          "run",
          ...RUNTIME_PERMISSIONS,
          new URL("./laptop_phases.ts", import.meta.url).pathname,
          kubeconfig,
          "team-7",
          "app-00007",
          mode,
        ],
        stdout: "piped",
        stderr: "inherit",
      }).output();
      const line = new TextDecoder().decode(output.stdout).split("\n")
        .find((l) => l.startsWith("result "));
      if (!line) throw new Error("bench/laptop_phases.ts printed no result");
      const { firstLine, phases } = JSON.parse(line.slice(7));
      add(`${mode}: start the runtime`, firstLine - spawned);
      for (const [phase, ms] of Object.entries(phases)) {
        add(`${mode}: ${phase}`, ms as number);
      }
    }
  }
  return Object.fromEntries(
    Object.entries(runs).map(([phase, values]) => [phase, median(values)]),
  );
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

const [kubectl, compiled] = await Promise.all([
  ensureKubectl(),
  compiledBinary(),
]);
const runners: Runner[] = [
  { name: "binary", argv: (args) => [compiled.path, ...args] },
  {
    name: "deno-run",
    argv: (
      args,
    ) => [Deno.execPath(), "run", ...RUNTIME_PERMISSIONS, MAIN, ...args],
  },
];
const env = await Envtest.start();
const home = await Deno.makeTempDir({ prefix: "dorgu-ws-bench-home-" });
try {
  await seed(env);
  // Both read the same kubeconfig; kubectl's discovery cache lives in HOME.
  const vars = {
    HOME: home,
    KUBECONFIG: env.kubeconfig,
    NO_COLOR: "1",
    PATH: Deno.env.get("PATH") ?? "",
    DENO_DIR: Deno.env.get("DENO_DIR") ?? `${Deno.env.get("HOME")}/.cache/deno`,
  };
  const context = ["--context", "envtest"];
  // The same cluster with `disable-compression: true`, which both honour:
  // what gzip costs each on a loopback API server.
  const identity = `${env.dir}/kubeconfig-identity`;
  const config = JSON.parse(await Deno.readTextFile(env.kubeconfig));
  config.clusters[0].cluster["disable-compression"] = true;
  await Deno.writeTextFile(identity, JSON.stringify(config));
  const plain = ["--kubeconfig", identity];
  const commands: Record<string, string[]> = {
    "kubectl all": [kubectl, "get", "applicationpersonas", "-A", ...context],
    "kubectl all identity": [
      kubectl,
      "get",
      "applicationpersonas",
      "-A",
      ...plain,
    ],
    "kubectl one": [
      kubectl,
      "get",
      "applicationpersonas",
      "app-00007",
      "-n",
      "team-7",
      ...context,
    ],
    "kubectl solo ns": [
      kubectl,
      "get",
      "applicationpersonas",
      "-n",
      "solo",
      ...context,
    ],
  };
  for (const runner of runners) {
    const argv = runner.argv;
    commands[`${runner.name} all`] = argv([
      "get",
      "personas",
      "-A",
      ...context,
    ]);
    commands[`${runner.name} all identity`] = argv([
      "get",
      "personas",
      "-A",
      ...plain,
    ]);
    commands[`${runner.name} one`] = argv([
      "get",
      "personas",
      "app-00007",
      "-n",
      "team-7",
      ...context,
    ]);
    commands[`${runner.name} solo ns`] = argv([
      "get",
      "personas",
      "-n",
      "solo",
      ...context,
    ]);
    commands[`${runner.name} version`] = argv(["version"]);
  }
  const times = await race(commands, vars);
  const medians = Object.fromEntries(
    Object.entries(times).map(([name, values]) => [name, median(values)]),
  );
  const watch: Record<string, { fromAnswer: number; fromSend: number }> = {};
  for (const runner of runners) {
    watch[runner.name] = await watchLatency(runner, env, vars);
  }
  const breakdown = await phases(env.kubeconfig);
  console.log(
    `result ${JSON.stringify({ medians, watch, breakdown, rounds, personas })}`,
  );
} finally {
  await env.stop();
  await Deno.remove(home, { recursive: true }).catch(() => {});
}
