/**
 * The binary and the scratch image. `deno compile` needs a runtime stub
 * from Deno's release host, unreachable here, so the compile task is run
 * with DENORT_BIN pointing at this machine's Deno: the result is not a
 * runnable dorgu-ws, but its payload is the real one (module graph,
 * embedded files, baked-in permissions) and it links exactly the libraries
 * the Deno runtime links. The Containerfile's final stage is built by
 * buildah from that, offline, and run with chroot as the numeric user.
 */
import assert from "node:assert/strict";
import { EMBEDDED_FILES } from "../tools/permissions.ts";
import { delay } from "./support/server.ts";
import { TestClient } from "./support/ws_client.ts";

const ROOT = new URL("../", import.meta.url).pathname;
const unsanitized = { sanitizeOps: false, sanitizeResources: false };

let workdir: string;
let binary: string;

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

Deno.test({
  name:
    "the compile task bakes in exactly the runtime permissions and embeds what the binary reads",
  ...unsanitized,
  async fn() {
    workdir = await Deno.makeTempDir({ prefix: "dorgu-ws-image-" });
    binary = `${workdir}/dorgu-ws`;
    await run("deno", [
      "task",
      "compile",
      "--target",
      "x86_64-unknown-linux-gnu",
      "--output",
      binary,
    ], {
      env: { DENORT_BIN: Deno.execPath() },
    });
    const bytes = await Deno.readFile(binary);
    const text = new TextDecoder("latin1").decode(bytes);
    const permissions = JSON.parse(
      /"permissions":(\{[^}]*"prompt":(?:true|false)\})/.exec(text)?.[1] ??
        "null",
    );
    assert.ok(permissions, "the binary carries its permissions");
    // [] means "all", null means "none": exactly net, read, env and run.
    assert.deepEqual(
      {
        net: permissions.allow_net,
        read: permissions.allow_read,
        env: permissions.allow_env,
        run: permissions.allow_run,
        write: permissions.allow_write,
        ffi: permissions.allow_ffi,
        sys: permissions.allow_sys,
        prompt: permissions.prompt,
      },
      {
        net: [],
        read: [],
        env: [],
        run: [],
        write: null,
        ffi: null,
        sys: null,
        prompt: false,
      },
    );
    // TLS renewal binds a second listener (SO_REUSEPORT): --unstable-net.
    assert.match(
      text,
      /"unstable_config":\{[^}]*"features":\[[^\]]*"net"/,
      "the binary runs with --unstable-net",
    );
    // The module graph, server and client and both sources, and the libraries.
    for (
      const marker of [
        "dorgu-ws is serving",
        "Cannot read the source directory",
        "Following the cluster",
        "The watch's resource version expired; relisting",
        "is not a dorgu-ws WebSocket endpoint",
        "KubeConfig",
        "deficient indentation",
        "safeParse",
      ]
    ) {
      assert.ok(text.includes(marker), `embedded: ${marker}`);
    }
    // Every file of the embedded demo cluster, and its content.
    for (const dir of EMBEDDED_FILES) {
      for await (const entry of Deno.readDir(`${ROOT}${dir}`)) {
        assert.ok(
          text.includes(`"n":"${entry.name}"`),
          `embedded file ${entry.name}`,
        );
      }
    }
    assert.ok(text.includes("eu-west-prod"));
  },
});

Deno.test({
  name: "--source demo reads nothing but the embedded demo cluster",
  ...unsanitized,
  async fn() {
    // Read access to the demo cluster alone: any other read would fail.
    const output = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "--allow-net",
        `--allow-read=${ROOT}examples/cluster`,
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
    "the image holds exactly the binary and the libraries it links, and runs as 65532",
  ...unsanitized,
  async fn() {
    assert.ok(binary, "the compile test ran first");
    const context = `${workdir}/context`;
    await run("bash", ["tools/rootfs.sh", binary, `${context}/rootfs`]);
    const storage = `${workdir}/storage`;
    const buildah = (args: string[]) =>
      run("buildah", [
        "--root",
        `${storage}/root`,
        "--runroot",
        `${storage}/run`,
        "--storage-driver",
        "vfs",
        ...args,
      ]);
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

      // It starts, as the numeric user, with only what is in the image.
      const version = await run("chroot", [
        "--userspec=65532:65532",
        mount,
        "/dorgu-ws",
        "--version",
      ]);
      assert.match(version, /^deno 2\./);
      const probe = Deno.listen({ hostname: "127.0.0.1", port: 0 });
      const port = (probe.addr as Deno.NetAddr).port;
      probe.close();
      const server = new Deno.Command("chroot", {
        args: [
          "--userspec=65532:65532",
          mount,
          "/dorgu-ws",
          "eval",
          `Deno.serve({ hostname: "127.0.0.1", port: ${port}, onListen() {} }, (req) => {
            const { socket, response } = Deno.upgradeWebSocket(req);
            socket.onmessage = (e) => socket.send(JSON.stringify({ type: "response", topic: "cluster", requestId: JSON.parse(e.data).requestId, payload: { uid: Deno.uid() }, timestamp: new Date().toISOString(), epoch: "e", offset: 0 }));
            return response;
          });`,
        ],
        stdout: "null",
        stderr: "null",
      }).spawn();
      try {
        let client: TestClient | undefined;
        for (let i = 0; i < 100 && !client; i++) {
          client = await TestClient.connect(`ws://127.0.0.1:${port}/ws`).catch(
            () => undefined,
          );
          if (!client) await delay(100);
        }
        assert.ok(client, "a WebSocket server runs inside the image");
        const reply = await client.call("request", "cluster");
        assert.deepEqual(reply.payload, { uid: 65532 });
        await client.close();
      } finally {
        server.kill("SIGKILL");
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
