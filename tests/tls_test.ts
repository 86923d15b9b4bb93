/**
 * TLS with certificates the tests make (openssl): the client trusts a
 * private CA from --ca-file or the config file, says in one line what to
 * do when it does not, and can skip verification for a lab server; the
 * server serves a renewed pair (a Kubernetes Secret's symlink swap) to new
 * connections without refusing one, while open connections stay, and
 * keeps the old pair when the new one is broken.
 */
import assert from "node:assert/strict";
import {
  createCa,
  servingCertificate,
  type TestCertificate,
} from "./support/certs.ts";
import { spawnCli } from "./support/proc.ts";
import {
  copyExamples,
  delay,
  editFile,
  runCli,
  spawnServer,
  startTestServer,
} from "./support/server.ts";
import { TestClient } from "./support/ws_client.ts";

const unsanitized = { sanitizeOps: false, sanitizeResources: false };

Deno.test({
  name:
    "wss: the client trusts the server's CA from --ca-file or the config file, skips checks only when told, and says in one line what is missing",
  ...unsanitized,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "dorgu-ws-tls-" });
    const ca = await createCa(dir, "ca");
    const other = await createCa(dir, "other-ca");
    const pair = await servingCertificate(ca, "server");
    const server = await spawnServer([
      "--source",
      "demo",
      "--tls-cert-file",
      pair.certFile,
      "--tls-private-key-file",
      pair.keyFile,
    ]);
    try {
      const serving = await server.waitForLog((l) =>
        l.msg === "dorgu-ws is serving"
      );
      assert.equal(serving.tls, true);
      const url = `wss://127.0.0.1:${server.port}/ws`;
      const get = (args: string[], env: Record<string, string> = {}) =>
        runCli(["get", "cluster", ...args], { env });

      const trusted = await get(["--url", url, "--ca-file", ca.certFile]);
      assert.equal(trusted.code, 0, trusted.stderr);
      assert.match(trusted.stdout, /eu-west-prod/);
      const byName = await get([
        "--url",
        url.replace("127.0.0.1", "localhost"),
        "--ca-file",
        ca.certFile,
      ]);
      assert.equal(byName.code, 0, byName.stderr);

      for (
        const args of [["--url", url], [
          "--url",
          url,
          "--ca-file",
          other.certFile,
        ]]
      ) {
        const refused = await get(args);
        assert.equal(refused.code, 1, args.join(" "));
        assert.equal(
          refused.stderr,
          `dorgu-ws: Cannot connect to ${url}: its TLS certificate is signed by a CA this client does not trust; pass --ca-file with that CA's certificate (or set ca-file for the server in the config file), or --insecure-skip-tls-verify for a lab server.\n`,
          args.join(" "),
        );
        assert.equal(refused.stdout, "");
      }

      const insecure = await get(["--url", url, "--insecure-skip-tls-verify"]);
      assert.equal(insecure.code, 0, insecure.stderr);
      assert.match(insecure.stdout, /eu-west-prod/);

      const both = await get([
        "--url",
        url,
        "--ca-file",
        ca.certFile,
        "--insecure-skip-tls-verify",
      ]);
      assert.equal(both.code, 2);
      assert.match(both.stderr, /contradict each other/);
      const notPem = await get(["--url", url, "--ca-file", pair.keyFile]);
      assert.equal(notPem.code, 2);
      assert.match(notPem.stderr, /holds no PEM certificate/);

      // Named servers: a ca-file relative to the config file, and a lab
      // server whose certificate is not checked.
      const home = await Deno.makeTempDir();
      await Deno.mkdir(`${home}/dorgu-ws`);
      await Deno.copyFile(ca.certFile, `${home}/dorgu-ws/prod-ca.crt`);
      await Deno.writeTextFile(
        `${home}/dorgu-ws/config.yaml`,
        `current: prod
servers:
  prod:
    url: ${url}
    ca-file: prod-ca.crt
  lab:
    url: ${url}
    insecure-skip-tls-verify: true
  plain:
    url: ${url}
`,
      );
      const env = { XDG_CONFIG_HOME: home };
      for (const args of [[], ["--server", "lab"]]) {
        const named = await get(args, env);
        assert.equal(named.code, 0, `${args}: ${named.stderr}`);
        assert.match(named.stdout, /eu-west-prod/);
      }
      const plain = await get(["--server", "plain"], env);
      assert.equal(plain.code, 1);
      assert.match(plain.stderr, /does not trust; pass --ca-file/);
      const flagWins = await get(
        ["--server", "plain", "--ca-file", ca.certFile],
        env,
      );
      assert.equal(flagWins.code, 0, flagWins.stderr);

      const version = await runCli(
        ["version", "--url", url, "--ca-file", ca.certFile],
      );
      assert.equal(version.code, 0, version.stderr);
      assert.match(version.stdout, /^Server Version: /m);
      const labVersion = await runCli(["version", "--server", "lab"], { env });
      assert.equal(labVersion.code, 0, labVersion.stderr);
      assert.match(labVersion.stdout, /^Server Version: /m);

      // The follower (watch) connects the same way.
      const watch = spawnCli(["watch", "personas", "--server", "prod"], {
        env,
      });
      try {
        await watch.waitFor((line) =>
          /listed\s+production\/storefront/.test(line)
        );
      } finally {
        await watch.stop();
      }
      const opened = server.logs.filter((l) =>
        typeof l === "object" && l.msg === "Opened a client"
      );
      assert.ok(opened.length > 0);
      assert.ok(opened.every((l) => (l as { tls: boolean }).tls === true));
    } finally {
      await server.stop();
    }
  },
});

/**
 * A Kubernetes Secret volume: the files are symlinks through `..data`,
 * which the kubelet swaps in one rename.
 */
class SecretVolume {
  readonly dir: string;
  #version = 0;

  constructor(dir: string) {
    this.dir = dir;
  }

  get certFile(): string {
    return `${this.dir}/tls.crt`;
  }

  get keyFile(): string {
    return `${this.dir}/tls.key`;
  }

  async write(pair: { cert: string; key: string }): Promise<void> {
    const version = `..v${++this.#version}`;
    await Deno.mkdir(`${this.dir}/${version}`);
    await Deno.writeTextFile(`${this.dir}/${version}/tls.crt`, pair.cert);
    await Deno.writeTextFile(`${this.dir}/${version}/tls.key`, pair.key);
    await Deno.symlink(version, `${this.dir}/..data_tmp`);
    await Deno.rename(`${this.dir}/..data_tmp`, `${this.dir}/..data`);
    if (this.#version === 1) {
      await Deno.symlink("..data/tls.crt", this.certFile);
      await Deno.symlink("..data/tls.key", this.keyFile);
    }
  }
}

async function handshakes(
  port: number,
  caCerts: string[],
  stop: { done: boolean },
): Promise<{ ok: number; failed: string[] }> {
  const outcome = { ok: 0, failed: [] as string[] };
  while (!stop.done) {
    // Lets the test's timers run between attempts.
    await delay(0);
    try {
      const conn = await Deno.connectTls({
        hostname: "127.0.0.1",
        port,
        caCerts,
      });
      try {
        await conn.handshake();
        outcome.ok++;
      } finally {
        conn.close();
      }
    } catch (error) {
      outcome.failed.push((error as Error).message);
    }
  }
  return outcome;
}

async function tlsClient(
  url: string,
  caCerts: string[],
): Promise<{ client: TestClient; http: Deno.HttpClient }> {
  const http = Deno.createHttpClient({ caCerts });
  try {
    return { client: await TestClient.connect(url, { client: http }), http };
  } catch (error) {
    http.close();
    throw error;
  }
}

Deno.test({
  name:
    "a renewed pair is served to new connections without refusing one, open connections stay, and a broken pair keeps the old one",
  ...unsanitized,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "dorgu-ws-renew-" });
    const first = await createCa(dir, "first-ca");
    const second = await createCa(dir, "second-ca");
    const before = await servingCertificate(first, "before");
    const after: TestCertificate = await servingCertificate(second, "after");
    const secret = new SecretVolume(`${dir}/secret`);
    await Deno.mkdir(secret.dir);
    await secret.write(before);

    const source = await copyExamples();
    const server = await spawnServer([
      "--source",
      source,
      "--tls-cert-file",
      secret.certFile,
      "--tls-private-key-file",
      secret.keyFile,
    ]);
    const clients: { client: TestClient; http: Deno.HttpClient }[] = [];
    try {
      const url = `wss://127.0.0.1:${server.port}/ws`;
      const old = await tlsClient(url, [first.cert]);
      clients.push(old);
      await old.client.call("subscribe", "personas");

      // Connections keep arriving, back to back, through the swap: the new
      // listener binds before the old one closes, so none is refused. The
      // one a sequential prober may have queued on the old listener in the
      // instant it closes is reset by the kernel (README, "TLS").
      const stop = { done: false };
      const probing = handshakes(server.port, [first.cert, second.cert], stop);
      await secret.write(after);
      const renewed = await server.waitForLog(
        (l) => l.msg === "Serving a renewed TLS certificate",
        15_000,
      );
      assert.equal(renewed.certFile, secret.certFile);
      await delay(300);
      stop.done = true;
      const probed = await probing;
      assert.ok(probed.failed.length <= 1, probed.failed.join("; "));
      assert.ok(
        probed.failed.every((failure) => /reset/i.test(failure)),
        probed.failed.join("; "),
      );
      assert.ok(probed.ok > 5, `${probed.ok} handshakes`);

      // New connections get the new certificate: its CA is trusted, the
      // old one no longer is.
      const fresh = await tlsClient(url, [second.cert]);
      clients.push(fresh);
      assert.equal(
        (await fresh.client.call("request", "cluster")).payload?.name,
        "eu-west-prod",
      );
      await assert.rejects(tlsClient(url, [first.cert]), /UnknownIssuer/);

      // The connection opened before the renewal still works both ways.
      await editFile(`${source}/production/personas.yaml`, {
        from: "phase: Failed",
        to: "phase: Active",
      });
      await old.client.waitFor(
        (m) =>
          m.type === "event" && m.payload?.name === "invoice-worker" &&
          m.payload?.phase === "Active",
        "an event on the connection opened before the renewal",
      );
      assert.equal(
        (await old.client.call("request", "cluster")).type,
        "response",
      );

      // A broken pair (this key does not belong to the certificate) is
      // logged, and the renewed pair keeps serving.
      await secret.write({ cert: after.cert, key: before.key });
      const kept = await server.waitForLog(
        (l) =>
          l.msg ===
            "Kept serving the current TLS certificate: the changed files cannot be used",
        15_000,
      );
      assert.match(String(kept.error), /KeyMismatch|not be consistent/);
      assert.equal(kept.level, "error");
      const still = await tlsClient(url, [second.cert]);
      clients.push(still);
      assert.equal(
        (await still.client.call("request", "cluster")).type,
        "response",
      );

      const metrics = await (await fetch(
        `https://127.0.0.1:${server.port}/metrics`,
        { client: still.http },
      )).text();
      assert.match(
        metrics,
        /^dorgu_ws_tls_reloads_total\{result="renewed"\} 1$/m,
      );
      assert.match(
        metrics,
        /^dorgu_ws_tls_reloads_total\{result="failed"\} 1$/m,
      );
      const expiry = Number(
        /^dorgu_ws_tls_certificate_expiry_timestamp_seconds (\S+)$/m.exec(
          metrics,
        )?.[1],
      );
      const now = Date.now() / 1000;
      assert.ok(expiry > now && expiry < now + 2 * 86400, `expiry ${expiry}`);
    } finally {
      for (const { client, http } of clients) {
        await client.close();
        http.close();
      }
      await server.stop();
    }
  },
});

Deno.test("TLS files that cannot be read or used stop the start with the reason", async () => {
  const dir = await Deno.makeTempDir({ prefix: "dorgu-ws-tls-bad-" });
  const ca = await createCa(dir, "ca");
  const pair = await servingCertificate(ca, "server");
  await Deno.writeTextFile(`${dir}/garbage.crt`, "not a certificate\n");
  const cases: [string, string, RegExp][] = [
    [
      `${dir}/missing.crt`,
      pair.keyFile,
      /Cannot read --tls-cert-file .*missing\.crt: No such file or directory; fix the path/,
    ],
    [
      `${dir}/garbage.crt`,
      pair.keyFile,
      /The TLS certificate and key cannot be used \(.*\); check that --tls-cert-file holds a PEM certificate chain/,
    ],
    [pair.certFile, ca.certFile, /The TLS certificate and key cannot be used/],
  ];
  for (const [tlsCertFile, tlsPrivateKeyFile, pattern] of cases) {
    await assert.rejects(
      startTestServer({ source: "demo", tlsCertFile, tlsPrivateKeyFile }),
      pattern,
    );
  }
});
