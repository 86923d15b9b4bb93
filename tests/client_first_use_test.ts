/**
 * What a new user of the client meets first. Ctrl-C on a one-shot `get`
 * that is still waiting for its answer, from a dorgu-ws server or from the
 * API server of a kubeconfig: the command stops at once and exits 130 (143
 * for SIGTERM), as a shell reports kubectl killed by the signal, instead of
 * waiting out --timeout and exiting 0 with nothing printed (a watch stopped
 * by Ctrl-C still exits 0: client_test.ts). And `get` with nothing naming
 * a server, none at the default address: the error says how to read the
 * cluster of a kubeconfig instead.
 */
import assert from "node:assert/strict";
import { spawnCli } from "./support/proc.ts";
import { closedUrl, runCli } from "./support/server.ts";

const unsanitized = { sanitizeOps: false, sanitizeResources: false };

/** A TCP listener that accepts connections and never answers. */
function silentListener(): {
  port: number;
  accepted: Promise<void>;
  close(): void;
} {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const held: Deno.Conn[] = [];
  const accepted = listener.accept().then((conn) => void held.push(conn));
  return {
    port: (listener.addr as Deno.NetAddr).port,
    accepted,
    close() {
      listener.close();
      for (const conn of held) conn.close();
    },
  };
}

async function interrupted(
  args: (port: number) => string[] | Promise<string[]>,
  signal: Deno.Signal,
): Promise<{ code: number; killed: boolean; ms: number; output: string }> {
  const silent = silentListener();
  const cli = spawnCli(await args(silent.port));
  try {
    // Connected: its signal handlers are in place.
    await silent.accepted;
    const started = Date.now();
    const code = await cli.stop(signal);
    const { signal: killedBy } = await cli.status;
    return {
      code,
      killed: killedBy !== null,
      ms: Date.now() - started,
      output: [...cli.stdout, ...cli.stderr].join("\n"),
    };
  } finally {
    await cli.stop("SIGKILL");
    silent.close();
  }
}

for (
  const [signal, expected] of [["SIGINT", 130], ["SIGTERM", 143]] as const
) {
  Deno.test({
    name:
      `${signal} stops a get waiting on a silent server at once: exit ${expected}, nothing printed`,
    ...unsanitized,
    async fn() {
      const result = await interrupted(
        (port) => [
          "get",
          "personas",
          "--url",
          `ws://127.0.0.1:${port}/ws`,
          "--timeout",
          "60s",
        ],
        signal,
      );
      assert.equal(result.code, expected, result.output);
      assert.equal(result.killed, false, "it exits by itself");
      assert.equal(result.output, "");
      // Well before --timeout: the signal stopped it, not the deadline.
      assert.ok(result.ms < 20_000, `${result.ms} ms`);
    },
  });
}

Deno.test({
  name:
    "SIGINT stops a laptop-mode get waiting on a silent API server at once: exit 130",
  ...unsanitized,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "dorgu-ws-interrupt-" });
    try {
      const result = await interrupted(async (port) => {
        await Deno.writeTextFile(
          `${dir}/config`,
          JSON.stringify({
            apiVersion: "v1",
            kind: "Config",
            clusters: [{
              name: "silent",
              cluster: {
                server: `https://127.0.0.1:${port}`,
                "insecure-skip-tls-verify": true,
              },
            }],
            users: [{ name: "me", user: { token: "t" } }],
            contexts: [{
              name: "silent",
              context: { cluster: "silent", user: "me" },
            }],
            "current-context": "silent",
          }),
        );
        return [
          "get",
          "personas",
          "--kubeconfig",
          `${dir}/config`,
          "--timeout",
          "60s",
        ];
      }, "SIGINT");
      assert.equal(result.code, 130, result.output);
      assert.equal(result.killed, false, "it exits by itself");
      assert.ok(result.ms < 20_000, `${result.ms} ms`);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

// Something (a demo, another engineer's server) on the default port.
function defaultPortTaken(): boolean {
  for (const hostname of ["127.0.0.1", "::1"]) {
    try {
      Deno.listen({ hostname, port: 9090 }).close();
    } catch (error) {
      if (error instanceof Deno.errors.AddrInUse) return true;
    }
  }
  return false;
}

Deno.test({
  name:
    "nothing names a server and none answers at the default address: the error points to --context",
  ignore: defaultPortTaken(),
  ...unsanitized,
  async fn() {
    const xdg = await Deno.makeTempDir({ prefix: "dorgu-ws-config-" });
    const hint =
      " No server was named (--url, --server, DORGU_WS_URL, the config file); to read a cluster with your kubeconfig instead, pass --context NAME.\n";
    const bare = await runCli(["get", "personas"], {
      env: { XDG_CONFIG_HOME: xdg },
    });
    assert.equal(bare.code, 1);
    assert.match(
      bare.stderr,
      /^dorgu-ws: Cannot connect to ws:\/\/localhost:9090\/ws: connection refused\./,
    );
    assert.ok(bare.stderr.endsWith(hint), bare.stderr);
    // A server that was named and is not there gets no such hint.
    const named = await runCli(["get", "personas"], {
      env: { XDG_CONFIG_HOME: xdg, DORGU_WS_URL: closedUrl() },
    });
    assert.equal(named.code, 1);
    assert.match(named.stderr, /connection refused/);
    assert.ok(!named.stderr.includes("--context"), named.stderr);
  },
});
