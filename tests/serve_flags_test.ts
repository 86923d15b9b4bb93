/**
 * `dorgu-ws serve` flag and variable errors as the binary prints them: one
 * line naming the flag or the variable that was wrong and what it takes,
 * and exit 2; DORGU_WS_KUBECONFIG read like --kubeconfig.
 */
import assert from "node:assert/strict";
import { runCli } from "./support/server.ts";

Deno.test("serve: a bad value is one line naming the flag or variable that set it", async () => {
  const cases: [string[], Record<string, string>, string][] = [
    [
      ["--rate-limit", "-1"],
      {},
      "--rate-limit must be a whole number from 1 to 100000, got '-1'.",
    ],
    [
      ["--enable-websocket=maybe"],
      {},
      "--enable-websocket must be true or false, got 'maybe'.",
    ],
    [
      ["--log-level", "verbose"],
      {},
      "--log-level must be debug, info, warn or error, got 'verbose'.",
    ],
    [
      [],
      { DORGU_WS_LOG_LEVEL: "loud" },
      "DORGU_WS_LOG_LEVEL must be debug, info, warn or error, got 'loud'.",
    ],
    [
      [],
      { DORGU_WS_RATE_LIMIT: "-1" },
      "DORGU_WS_RATE_LIMIT must be a whole number from 1 to 100000, got '-1'.",
    ],
    [
      [],
      { DORGU_WS_ENABLE_WEBSOCKET: "maybe" },
      "DORGU_WS_ENABLE_WEBSOCKET must be true or false, got 'maybe'.",
    ],
    [
      ["--read-timeout", "0"],
      {},
      "--read-timeout must be longer than zero, such as 10s or 500ms, got '0'.",
    ],
    [
      ["--history-size"],
      {},
      "--history-size needs a value; run 'dorgu-ws serve --help' for its flags.",
    ],
    [
      ["--tls-cert-file", "tls.crt"],
      {},
      "--tls-cert-file needs --tls-private-key-file (or DORGU_WS_TLS_PRIVATE_KEY_FILE) too: TLS takes a certificate and its private key.",
    ],
    [
      [],
      { DORGU_WS_TLS_PRIVATE_KEY_FILE: "tls.key" },
      "DORGU_WS_TLS_PRIVATE_KEY_FILE needs --tls-cert-file (or DORGU_WS_TLS_CERT_FILE) too: TLS takes a certificate and its private key.",
    ],
  ];
  for (const [args, env, line] of cases) {
    const result = await runCli(["serve", ...args], { env });
    const what = args.join(" ") || JSON.stringify(env);
    assert.equal(result.code, 2, `${what}: ${result.stderr}`);
    assert.equal(result.stderr, `dorgu-ws: ${line}\n`, what);
  }
});

Deno.test("serve reads DORGU_WS_KUBECONFIG as it reads --kubeconfig", async () => {
  const missing = `${await Deno.makeTempDir()}/no-such-kubeconfig`;
  for (
    const [args, env] of [
      [["--kubeconfig", missing], {}],
      [[], { DORGU_WS_KUBECONFIG: missing }],
    ] as [string[], Record<string, string>][]
  ) {
    const result = await runCli([
      "serve",
      "--websocket-addr",
      "127.0.0.1:0",
      ...args,
    ], { env: { KUBECONFIG: "", ...env } });
    assert.equal(result.code, 1, result.stderr);
    assert.match(
      result.stderr,
      new RegExp(`The kubeconfig ${missing} does not exist`),
    );
  }
});
