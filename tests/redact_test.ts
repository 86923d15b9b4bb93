/**
 * A secret in a URL (`https://user:password@host`, a token as the user
 * name, `?token=`) is never printed: not by the client's errors, not by
 * laptop mode's, not by the dashboard command's lines.
 */
import assert from "node:assert/strict";
import { redactUrl } from "../src/redact.ts";
import { spawnCli } from "./support/proc.ts";
import { closedUrl, runCli } from "./support/server.ts";

const unsanitized = { sanitizeOps: false, sanitizeResources: false };

Deno.test("redactUrl hides user information and query values, and nothing else", () => {
  const cases: [string, string][] = [
    [
      "https://admin:hunter2@10.0.0.1:6443",
      "https://xxxxx:xxxxx@10.0.0.1:6443",
    ],
    ["wss://ghp_token@host/ws", "wss://xxxxx@host/ws"],
    ["ws://h:9090/ws?token=hunter2&x=1", "ws://h:9090/ws?token=xxxxx&x=xxxxx"],
    ["ws://h:9090?token=hunter2", "ws://h:9090?token=xxxxx"],
    ["https://10.0.0.1:6443", "https://10.0.0.1:6443"],
    ["ws://localhost:9090/ws", "ws://localhost:9090/ws"],
    ["not a url", "not a url"],
  ];
  for (const [url, shown] of cases) assert.equal(redactUrl(url), shown, url);
});

/** A kubeconfig whose server address carries a password. */
async function kubeconfigWithPassword(): Promise<string> {
  const path = await Deno.makeTempFile({ suffix: ".yaml" });
  await Deno.writeTextFile(
    path,
    `apiVersion: v1
kind: Config
clusters:
- name: c
  cluster:
    server: https://admin:hunter2@127.0.0.1:1
users:
- name: u
  user:
    token: abc
contexts:
- name: x
  context: {cluster: c, user: u}
current-context: x
`,
  );
  return path;
}

Deno.test({
  name: "get prints no password or token of a server URL it cannot reach",
  ...unsanitized,
  async fn() {
    const server = closedUrl().replace("ws://", "ws://admin:hunter2@");
    const kubeconfig = await kubeconfigWithPassword();
    for (
      const args of [
        ["get", "ap", "--url", server],
        ["get", "ap", "--url", `${closedUrl()}?token=hunter2`],
        ["get", "ap", "--url", "ftp://admin:hunter2@127.0.0.1:1/ws"],
        ["get", "ap", "--kubeconfig", kubeconfig],
      ]
    ) {
      const result = await runCli(args);
      assert.notEqual(result.code, 0, args.join(" "));
      assert.match(result.stderr, /xxxxx/, args.join(" "));
      assert.doesNotMatch(result.stderr, /hunter2/, args.join(" "));
    }
  },
});

Deno.test({
  name: "the dashboard command prints no password of the API server's URL",
  ...unsanitized,
  async fn() {
    const cli = spawnCli([
      "dashboard",
      "--kubeconfig",
      await kubeconfigWithPassword(),
      "--no-browser",
    ]);
    try {
      await cli.waitFor((line) => line.startsWith("Serving the dashboard"));
      await cli.waitFor((line) => /Cannot reach the API server/.test(line), {
        stream: "stderr",
      });
    } finally {
      await cli.stop();
    }
    const printed = [...cli.stdout, ...cli.stderr].join("\n");
    assert.match(printed, /https:\/\/xxxxx:xxxxx@127\.0\.0\.1:1/);
    assert.doesNotMatch(printed, /hunter2/);
  },
});
