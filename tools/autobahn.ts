/**
 * `deno task autobahn`: the Autobahn TestSuite, the conformance suite ws,
 * gorilla/websocket, uWebSockets and Deno's own WebSocket are measured
 * with, run against dorgu-ws's transport and against the runtime's
 * WebSocket, on loopback, side by side.
 *
 *   deno task autobahn [--cases 1-10] [--agents own,runtime]
 *                      [--max-message-size BYTES] [--out DIR]
 *
 * The suite's fuzzing client (`wstest -m fuzzingclient`) runs on CPython
 * 2.7: the first run finds one (AUTOBAHN_PYTHON, pyenv's 2.7, or
 * `python2.7` on PATH), makes a virtualenv under
 * ~/.cache/dorgu-ws/autobahn/ and installs tools/autobahn_requirements.txt
 * into it (pinned: the last releases that run on 2.7), under a lock.
 *
 * The client expects a server that echoes every message, so the agents are
 * the candidates bench's servers in their `--echo` mode: `own` is
 * bench/transport_server.ts (src/transport/ with the limits `serve` gives
 * a client by default), `runtime` is bench/bare_server.ts
 * (`Deno.upgradeWebSocket`). `serve` itself answers with the dorgu
 * protocol, not an echo. Cases 9.x send messages of up to 16 MiB, so when
 * they run the own transport's message limit is raised to that (and the
 * summary says so). Prints per agent and case group the count of each
 * verdict, every case not passed, and every case one agent fails that the
 * other passes; exits 1 when the own transport has a case FAILED or
 * NON-STRICT, or fails one the runtime passes. Not part of `deno task
 * test`: it takes minutes and needs PyPI once.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { cacheDir, run, withLock } from "../tests/tools/cache.ts";
import { regressions, type ReportIndex, summarize } from "./autobahn_report.ts";

const ROOT = new URL("../", import.meta.url).pathname;
const REQUIREMENTS = `${ROOT}tools/autobahn_requirements.txt`;
const BIG_MESSAGES = 16 * 1024 * 1024;

const SERVERS: Record<string, { script: string; args: string[] }> = {
  own: { script: "bench/transport_server.ts", args: ["--echo"] },
  runtime: { script: "bench/bare_server.ts", args: ["--echo"] },
};

/** The case patterns `--cases` names: `1-10`, `6.4.*`, `1-4,7`. */
export function casePatterns(spec: string): string[] {
  return spec.split(",").flatMap((part) => {
    const range = /^(\d+)-(\d+)$/.exec(part.trim());
    if (!range) {
      return [/^\d+$/.test(part.trim()) ? `${part.trim()}.*` : part.trim()];
    }
    const patterns: string[] = [];
    for (let g = Number(range[1]); g <= Number(range[2]); g++) {
      patterns.push(`${g}.*`);
    }
    return patterns;
  });
}

async function findPython(): Promise<string> {
  const explicit = Deno.env.get("AUTOBAHN_PYTHON");
  if (explicit) return explicit;
  try {
    const versions = (await run("pyenv", ["versions", "--bare"])).split("\n")
      .map((v) => v.trim()).filter((v) => /^2\.7(\.\d+)?$/.test(v));
    if (versions.length) {
      const prefix = (await run("pyenv", ["prefix", versions.at(-1) ?? ""]))
        .trim();
      return `${prefix}/bin/python2.7`;
    }
  } catch {
    // No pyenv: try PATH.
  }
  return "python2.7";
}

/** The wstest of the cached virtualenv, installed first if needed. */
async function ensureWstest(): Promise<string> {
  const dir = `${await cacheDir()}/autobahn`;
  const wstest = `${dir}/venv/bin/wstest`;
  const wanted = await Deno.readTextFile(REQUIREMENTS);
  return await withLock("autobahn", async () => {
    const stamp = `${dir}/venv/requirements.txt`;
    const have = await Deno.readTextFile(stamp).catch(() => "");
    if (have === wanted) return wstest;
    const python = await findPython();
    console.error(`autobahn: installing wstest for ${python} into ${dir}`);
    await Deno.remove(`${dir}/venv`, { recursive: true }).catch(() => {});
    await Deno.mkdir(dir, { recursive: true });
    // virtualenv 16 is the last that is one module and runs on 2.7.
    await run(python, [
      "-m",
      "pip",
      "install",
      "--quiet",
      "--disable-pip-version-check",
      "--target",
      `${dir}/boot`,
      "virtualenv==16.7.12",
    ]).catch((error) => {
      throw new Error(
        `Cannot install virtualenv for ${python} (set AUTOBAHN_PYTHON to a CPython 2.7): ${error.message}`,
      );
    });
    await run(python, ["-m", "virtualenv", "--quiet", `${dir}/venv`], {
      env: { PYTHONPATH: `${dir}/boot` },
    });
    await run(`${dir}/venv/bin/pip`, [
      "install",
      "--quiet",
      "--disable-pip-version-check",
      "-r",
      REQUIREMENTS,
    ]);
    await Deno.writeTextFile(stamp, wanted);
    return wstest;
  });
}

interface Agent {
  name: string;
  url: string;
  process: Deno.ChildProcess;
}

/** Starts an echo server; resolves once it says where it listens. */
async function startAgent(name: string, maxBytes: number): Promise<Agent> {
  const server = SERVERS[name];
  if (!server) throw new Error(`Unknown agent '${name}': own or runtime.`);
  const process = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-net",
      "--allow-read",
      "--allow-env",
      `${ROOT}${server.script}`,
      ...server.args,
      ...(name === "own" ? [String(maxBytes)] : []),
    ],
    stdin: "piped",
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const reader = process.stdout.pipeThrough(new TextDecoderStream())
    .getReader();
  let text = "";
  while (!/listening (\d+)/.test(text)) {
    const { value, done } = await reader.read();
    if (done) {
      throw new Error(`The ${name} echo server exited before listening.`);
    }
    text += value;
  }
  reader.releaseLock();
  process.stdout.cancel().catch(() => {});
  const port = /listening (\d+)/.exec(text)?.[1];
  return { name, url: `ws://127.0.0.1:${port}`, process };
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      cases: { type: "string", default: "1-10" },
      agents: { type: "string", default: "own,runtime" },
      "max-message-size": { type: "string" },
      out: { type: "string" },
    },
  });
  const cases = casePatterns(values.cases);
  const big = cases.some((c) => c === "9.*" || c.startsWith("9."));
  const maxBytes = Number(values["max-message-size"] ?? 0) ||
    (big ? BIG_MESSAGES : 0);
  const out = values.out ?? `${await cacheDir()}/autobahn/report`;
  const wstest = await ensureWstest();
  await Deno.remove(out, { recursive: true }).catch(() => {});
  await Deno.mkdir(out, { recursive: true });
  const agents: Agent[] = [];
  try {
    for (const name of values.agents.split(",")) {
      agents.push(await startAgent(name.trim(), maxBytes));
    }
    const spec = {
      outdir: out,
      servers: agents.map((a) => ({ agent: a.name, url: a.url })),
      cases,
      "exclude-cases": [],
      "exclude-agent-cases": {},
    };
    await Deno.writeTextFile(`${out}/spec.json`, JSON.stringify(spec));
    console.error(
      `autobahn: cases ${cases.join(" ")} against ${
        agents.map((a) => `${a.name} (${a.url})`).join(", ")
      }${
        maxBytes
          ? `; the own transport's --max-message-size is ${maxBytes} bytes for 9.x`
          : ""
      }`,
    );
    await run(wstest, ["-m", "fuzzingclient", "-s", `${out}/spec.json`], {
      cwd: out,
    });
  } finally {
    for (const agent of agents) {
      agent.process.kill("SIGTERM");
      await agent.process.status;
    }
  }
  const index: ReportIndex = JSON.parse(
    await Deno.readTextFile(`${out}/index.json`),
  );
  console.log(summarize(index));
  console.log(`report: ${out}/index.html`);
  const own = index.own;
  if (!own) return 0;
  const bad = Object.entries(own).filter(([, r]) =>
    r.behavior === "FAILED" || r.behavior === "NON-STRICT"
  );
  const worse = index.runtime ? regressions(own, index.runtime) : [];
  return bad.length || worse.length ? 1 : 0;
}

if (import.meta.main) Deno.exit(await main());
