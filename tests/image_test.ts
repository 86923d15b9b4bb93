/**
 * The scratch image, built by buildah from the Containerfile's final stage
 * around the real compiled binary (tests/tools/compiled.ts; the build stage
 * is replaced by a local root filesystem, since the image build cannot
 * fetch a runtime stub here), and run the way a container runtime runs it.
 */
import assert from "node:assert/strict";
import manifest from "../deno.json" with { type: "json" };
import { EMBEDDED_FILES, LAZY_MODULES } from "../tools/permissions.ts";
import { delay } from "./support/server.ts";
import { TestClient } from "./support/ws_client.ts";
import { compiledBinary } from "./tools/compiled.ts";

const ROOT = new URL("../", import.meta.url).pathname;
const unsanitized = { sanitizeOps: false, sanitizeResources: false };
const binary = (await compiledBinary()).path;

/** The local module files `entries` import, by their module graphs. */
async function codeOf(entries: readonly string[]): Promise<string[]> {
  const files = new Set<string>();
  for (const entry of entries) {
    const graph = JSON.parse(
      await run(Deno.execPath(), ["info", "--json", entry]),
    ) as { modules: { local?: string; specifier: string }[] };
    for (const module of graph.modules) {
      if (module.specifier.startsWith("file:") && module.local) {
        files.add(module.local);
      }
    }
  }
  return [...files];
}

async function run(
  command: string,
  args: string[],
  options: { env?: Record<string, string>; cwd?: string } = {},
): Promise<string> {
  const output = await new Deno.Command(command, {
    args,
    cwd: options.cwd ?? ROOT,
    env: options.env,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const stdout = new TextDecoder().decode(output.stdout);
  if (!output.success) {
    throw new Error(
      `${command} ${args.join(" ")} failed:\n${stdout}\n${
        new TextDecoder().decode(output.stderr)
      }`,
    );
  }
  return stdout;
}

/** The pid of the process whose command line is exactly `argv`. */
async function processOf(argv: string[]): Promise<number> {
  const wanted = argv.join("\0") + "\0";
  for await (const entry of Deno.readDir("/proc")) {
    if (!/^\d+$/.test(entry.name)) continue;
    const cmdline = await Deno.readTextFile(`/proc/${entry.name}/cmdline`)
      .catch(() => "");
    if (cmdline === wanted) return Number(entry.name);
  }
  throw new Error(`No process runs ${argv.join(" ")}.`);
}

Deno.test({
  name:
    "--source demo reads nothing but the embedded files: the demo cluster, the dashboard, the AsyncAPI document",
  ...unsanitized,
  async fn() {
    // Read access to the files the binary embeds alone, and to the code of
    // the modules main.ts imports by a computed URL (which deno run reads
    // when they are imported; the binary has them embedded): any other
    // read would fail.
    const readable = [
      ...EMBEDDED_FILES.map((path) => ROOT + path),
      ...await codeOf(LAZY_MODULES),
    ];
    const output = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "--allow-net",
        `--allow-read=${readable.join(",")}`,
        "--allow-env",
        "--no-prompt",
        `${ROOT}main.ts`,
        "serve",
        "--source",
        "demo",
        "--websocket-addr",
        "127.0.0.1:0",
      ],
      stderr: "piped",
      stdout: "null",
    }).spawn();
    const reader = output.stderr.pipeThrough(new TextDecoderStream())
      .getReader();
    let log = "";
    while (!log.includes("dorgu-ws is serving")) {
      const { value, done } = await reader.read();
      if (done) break;
      log += value;
    }
    const port = /"addr":"127\.0\.0\.1:(\d+)"/.exec(log)?.[1];
    assert.ok(port, log);
    const client = await TestClient.connect(`ws://127.0.0.1:${port}/ws`);
    const cluster = await client.call("request", "cluster");
    assert.equal(cluster.payload?.name, "eu-west-prod");
    await client.close();
    output.kill("SIGTERM");
    await output.status;
    reader.releaseLock();
  },
});

Deno.test({
  name:
    `the image holds exactly the compiled binary and the libraries it links, and serves as 65532`,
  ...unsanitized,
  async fn() {
    console.log(`image built around ${binary}`);
    const workdir = await Deno.makeTempDir({ prefix: "dorgu-ws-image-" });
    const context = `${workdir}/context`;
    await run("bash", ["tools/rootfs.sh", binary, `${context}/rootfs`]);
    const storage = `${workdir}/storage`;
    const storageFlags = [
      "--root",
      `${storage}/root`,
      "--runroot",
      `${storage}/run`,
      "--storage-driver",
      "vfs",
    ];
    const buildah = (args: string[]) =>
      run("buildah", [...storageFlags, ...args]);
    await buildah([
      "build",
      "--isolation",
      "chroot",
      "--build-arg",
      "TARGETARCH=amd64",
      "--build-context",
      `build=${context}`,
      "-f",
      "Containerfile",
      "-t",
      "localhost/dorgu-ws:test",
      ".",
    ]);
    const config = JSON.parse(
      await buildah([
        "inspect",
        "--type",
        "image",
        "localhost/dorgu-ws:test",
      ]),
    )
      .OCIv1.config;
    assert.equal(config.User, "65532:65532");
    assert.deepEqual(Object.keys(config.ExposedPorts), ["9090/tcp"]);
    assert.deepEqual(config.Entrypoint, ["/dorgu-ws", "serve"]);

    const container = (await buildah(["from", "localhost/dorgu-ws:test"]))
      .trim();
    const mount = (await buildah(["mount", container])).trim();
    try {
      // Exactly the binary and what ldd says it links, nothing else.
      const files: string[] = [];
      const walk = async (dir: string) => {
        for await (const entry of Deno.readDir(`${mount}${dir}`)) {
          const path = `${dir}/${entry.name}`;
          if (entry.isDirectory) await walk(path);
          else files.push(path);
        }
      };
      await walk("");
      const linked = (await run("ldd", [binary])).split("\n").map((line) =>
        /=> (\/\S+)/.exec(line)?.[1] ?? /^\s*(\/\S+)/.exec(line)?.[1]
      ).filter((p): p is string => !!p);
      assert.deepEqual(files.sort(), ["/dorgu-ws", ...linked].sort());
      for (
        const absent of [
          "/bin/sh",
          "/usr/bin/apt-get",
          "/etc/ssl/certs/ca-certificates.crt",
        ]
      ) {
        assert.ok(!files.includes(absent), absent);
      }

      // Run as a container runtime runs it (with /proc, which the binary
      // reads its embedded program through), as the image's user.
      const version = await buildah([
        "run",
        "--isolation",
        "chroot",
        container,
        "--",
        "/dorgu-ws",
        "version",
      ]);
      assert.match(
        version,
        new RegExp(
          `^Client Version: ${manifest.version.replaceAll(".", "\\.")} `,
        ),
      );
      const probe = Deno.listen({ hostname: "127.0.0.1", port: 0 });
      const port = (probe.addr as Deno.NetAddr).port;
      probe.close();
      const args = ["serve", "--source", "demo", "--websocket-addr"];
      const server = new Deno.Command("buildah", {
        args: [
          ...storageFlags,
          "run",
          "--isolation",
          "chroot",
          container,
          "--",
          "/dorgu-ws",
          ...args,
          `127.0.0.1:${port}`,
        ],
        stdout: "null",
        stderr: "piped",
      }).spawn();
      const log = new Response(server.stderr).text();
      let pid: number | undefined;
      try {
        let client: TestClient | undefined;
        for (let i = 0; i < 100 && !client; i++) {
          client = await TestClient.connect(`ws://127.0.0.1:${port}/ws`).catch(
            () => undefined,
          );
          if (!client) await delay(100);
        }
        assert.ok(client, "dorgu-ws serves from inside the image");
        const reply = await client.call("request", "cluster");
        assert.equal(reply.payload?.name, "eu-west-prod");
        await client.close();
        pid = await processOf(["/dorgu-ws", ...args, `127.0.0.1:${port}`]);
        const status = await Deno.readTextFile(`/proc/${pid}/status`);
        assert.match(status, /^Uid:\t65532\t65532\t/m);
        assert.match(status, /^Gid:\t65532\t65532\t/m);
        // buildah kills its command on SIGTERM; dorgu-ws itself stops cleanly.
        Deno.kill(pid, "SIGTERM");
        assert.equal((await server.status).code, 0);
        assert.match(await log, /"msg":"dorgu-ws stopped"/);
      } finally {
        try {
          server.kill("SIGKILL");
        } catch {
          // Already gone.
        }
        await server.status;
      }
    } finally {
      await buildah(["umount", container]).catch(() => "");
      await buildah(["rm", container]).catch(() => "");
      await buildah(["rmi", "--all", "--force"]).catch(() => "");
      await Deno.remove(workdir, { recursive: true }).catch(() => {});
    }
  },
});

Deno.test({
  name: "without the release host, the compile task says how to build instead",
  ...unsanitized,
  async fn() {
    const result = await new Deno.Command("deno", {
      args: [
        "task",
        "compile",
        "--target",
        "aarch64-unknown-linux-gnu",
        "--output",
        "/tmp/dorgu-ws-never",
      ],
      cwd: ROOT,
      // Without DENORT_BIN, as a user would run it.
      clearEnv: true,
      env: {
        PATH: Deno.env.get("PATH") ?? "",
        HOME: Deno.env.get("HOME") ?? "",
        ...(Deno.env.get("DENO_DIR")
          ? { DENO_DIR: Deno.env.get("DENO_DIR")! }
          : {}),
      },
      stdout: "piped",
      stderr: "piped",
    }).output();
    const stderr = new TextDecoder().decode(result.stderr);
    if (result.success) return; // A machine that reaches dl.deno.land builds it.
    assert.match(
      stderr,
      /could not fetch its runtime stub for aarch64-unknown-linux-gnu; build where dl\.deno\.land is reachable, or set DENORT_BIN/,
    );
  },
});
