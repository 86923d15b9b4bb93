/**
 * Server configuration as flags, DORGU_WS_* variables and defaults
 * resolve it: precedence, listen addresses, and errors that name what set
 * a bad value.
 */
import assert from "node:assert/strict";
import { UsageError } from "../src/flags.ts";
import {
  DEFAULT_CONFIG,
  parseListenAddress,
  parseServeArgs,
  SERVE_FLAGS,
  serveHelp,
} from "../src/server/config.ts";

Deno.test("listen addresses in the seed's form and the usual others", () => {
  assert.deepEqual(parseListenAddress(":9090"), { hostname: "", port: 9090 });
  assert.deepEqual(parseListenAddress("9090"), { hostname: "", port: 9090 });
  assert.deepEqual(parseListenAddress("127.0.0.1:80"), {
    hostname: "127.0.0.1",
    port: 80,
  });
  assert.deepEqual(parseListenAddress("localhost:0"), {
    hostname: "localhost",
    port: 0,
  });
  assert.deepEqual(parseListenAddress("[::1]:9090"), {
    hostname: "::1",
    port: 9090,
  });
  for (
    const bad of [
      "",
      ":",
      "::1:9090",
      "[::1]",
      "[]:9090",
      "host:port",
      ":65536",
      ":123456",
    ]
  ) {
    assert.throws(() => parseListenAddress(bad), UsageError, bad);
  }
});

Deno.test("flags win over DORGU_WS_* variables, which win over defaults", () => {
  const env = (vars: Record<string, string>) => (name: string) => vars[name];
  const config = parseServeArgs(["--history-size", "10"], {
    env: env({
      DORGU_WS_HISTORY_SIZE: "20",
      DORGU_WS_WRITE_TIMEOUT: "2s",
      DORGU_WS_NAMESPACE: "prod, staging",
      DORGU_WS_ENABLE_WEBSOCKET: "false",
      DORGU_WS_DASHBOARD: "false",
    }),
  });
  assert.ok(config !== "help");
  assert.equal(config.dashboard, false);
  assert.equal(config.historySize, 10);
  assert.equal(config.writeTimeoutMs, 2000);
  assert.deepEqual(config.namespaces, ["prod", "staging"]);
  assert.equal(config.enableWebsocket, false);
  assert.equal(config.readTimeoutMs, 60_000);
  assert.equal(config.maxMessageBytes, 512 * 1024);
  assert.throws(
    () =>
      parseServeArgs([], {
        env: env({ DORGU_WS_ENABLE_WEBSOCKET: "perhaps" }),
      }),
    /DORGU_WS_ENABLE_WEBSOCKET must be true or false, got 'perhaps'/,
  );
});

Deno.test("one table: DEFAULT_CONFIG and the help both come from each flag's default", () => {
  const none = () => undefined;
  assert.deepEqual(parseServeArgs([], { env: none }), DEFAULT_CONFIG);
  // The seed's values, so a table edit cannot move a default unnoticed.
  assert.deepEqual(DEFAULT_CONFIG, {
    hostname: "",
    port: 9090,
    enableWebsocket: true,
    dashboard: true,
    source: "kubernetes",
    namespaces: [],
    historySize: 1024,
    allowedOrigins: [],
    allowedHosts: [],
    auth: "none",
    maxConnections: 10_000,
    maxPendingConnections: 256,
    headerTimeoutMs: 10_000,
    rateLimit: 20,
    rateBurst: 50,
    sendBuffer: 256,
    sendBufferBytes: 4 * 1024 * 1024,
    writeTimeoutMs: 10_000,
    readTimeoutMs: 60_000,
    maxMessageBytes: 512 * 1024,
    maxMessageFrames: 131_072,
    messageTimeoutMs: 10_000,
    logLevel: "info",
  });
  const help = serveHelp();
  for (const [name, flag] of Object.entries(SERVE_FLAGS)) {
    if (flag.default === undefined) continue;
    assert.match(
      help,
      new RegExp(`--${name} .*\\(default ${flag.default};`),
      name,
    );
  }
});

Deno.test("values are checked where they are read, and errors name what set them", () => {
  const env = (vars: Record<string, string>) => (name: string) => vars[name];
  const cases: [string[], Record<string, string>, RegExp][] = [
    [
      ["--rate-limit", "-1"],
      {},
      /^--rate-limit must be a whole number from 1 to 100000, got '-1'\.$/,
    ],
    [["--rate-limit=-1"], {}, /^--rate-limit must be a whole number/],
    [
      ["--enable-websocket=maybe"],
      {},
      /^--enable-websocket must be true or false, got 'maybe'\.$/,
    ],
    [
      ["--log-level", "verbose"],
      {},
      /^--log-level must be debug, info, warn or error, got 'verbose'\.$/,
    ],
    [
      [],
      { DORGU_WS_LOG_LEVEL: "loud" },
      /^DORGU_WS_LOG_LEVEL must be debug, info, warn or error, got 'loud'\.$/,
    ],
    [
      [],
      { DORGU_WS_WEBSOCKET_ADDR: "nine" },
      /^DORGU_WS_WEBSOCKET_ADDR must look like :9090/,
    ],
    [
      [],
      { DORGU_WS_NAMESPACE: "prod,Bad_NS" },
      /^DORGU_WS_NAMESPACE: 'Bad_NS' is not a namespace name/,
    ],
    [
      [],
      { DORGU_WS_ALLOWED_ORIGINS: "nope" },
      /^DORGU_WS_ALLOWED_ORIGINS entry 'nope' is not an origin/,
    ],
    [[], { DORGU_WS_AUTH: "token" }, /^DORGU_WS_AUTH token needs --token-file/],
    [["--write-timeout", "0"], {}, /^--write-timeout must be longer than zero/],
    [["--read-timeout", "30d"], {}, /^--read-timeout must be a duration/],
    [
      ["--read-timeout", "999999h"],
      {},
      /^--read-timeout must be at most 24 days \(596h\)/,
    ],
    [
      ["--max-message-size", "10"],
      {},
      /^--max-message-size must be at least 1KiB/,
    ],
    [["--read-timeout"], {}, /^--read-timeout needs a value/],
    [["--log-level", "--source", "demo"], {}, /^--log-level needs a value/],
    [["--no-source"], {}, /^Unknown flag '--no-source'/],
  ];
  for (const [args, vars, pattern] of cases) {
    assert.throws(
      () => parseServeArgs(args, { env: env(vars) }),
      (error: Error) => {
        assert.ok(error instanceof UsageError, String(error));
        assert.match(error.message, pattern);
        assert.doesNotMatch(error.message, /\n|Invalid type|Expected/);
        return true;
      },
      args.join(" ") || JSON.stringify(vars),
    );
  }
  // Go's boolean forms, and the kubeconfig from its variable.
  const config = parseServeArgs(["--enable-websocket=0", "-n", "a,b", "-nc"], {
    env: env({ DORGU_WS_KUBECONFIG: "/etc/kube/config" }),
  });
  assert.ok(config !== "help");
  assert.equal(config.enableWebsocket, false);
  assert.deepEqual(config.namespaces, ["a", "b", "c"]);
  assert.equal(config.kubeconfig, "/etc/kube/config");
});
