/**
 * Laptop mode against API servers that are not what they should be:
 * answers without end, not JSON or a 50 MB error page, continue tokens
 * that come round again, 429s to wait out, plain HTTP on an https://
 * address, and a proxy in the environment that must not see this
 * machine's traffic. Each is one line and an exit code, in time and
 * without holding memory. The API server is a scripted fake
 * (support/fake_apiserver.ts); the client is main.ts as the binary runs it.
 */
import assert from "node:assert/strict";
import {
  apiList,
  apiPersona,
  apiStatus,
  serveFakeApi,
} from "./support/fake_apiserver.ts";
import { noPersonas, serveFake } from "./support/fake_server.ts";
import { runCli } from "./support/server.ts";

const unsanitized = { sanitizeOps: false, sanitizeResources: false };

Deno.test({
  name:
    "an API server's answers are read only so far: an error page is cut to one short line, a list without end or not JSON is one line",
  ...unsanitized,
  async fn() {
    const chunk = new TextEncoder().encode("x".repeat(1024 * 1024));
    const answers: Record<string, () => Response> = {
      "/error-page": () =>
        new Response(`<html>${"x".repeat(50_000_000)}</html>`, {
          status: 500,
        }),
      "/endless": () =>
        new Response(
          new ReadableStream({
            start: (c) => c.enqueue(new TextEncoder().encode('{"items":["')),
            pull: (c) => c.enqueue(chunk),
          }),
        ),
      "/web-page": () => new Response("<html>a web server</html>"),
    };
    await using api = await serveFakeApi((url) =>
      answers[url.pathname.split("/apis/")[0]]()
    );
    const cases: [string, RegExp][] = [
      [
        "/error-page",
        /^dorgu-ws: The API server at \S+ refused to list applicationpersonas\.dorgu\.io \(500 Internal Server Error\): <html>x{194}\.\.\.\n$/,
      ],
      [
        "/endless",
        /^dorgu-ws: The API server at \S+\/endless \(context fake \(user me\)\) sent an answer larger than 128 MiB, which dorgu-ws does not read\.\n$/,
      ],
      [
        "/web-page",
        /^dorgu-ws: The API server at \S+\/web-page \(context fake \(user me\)\) answered with something that is not JSON \("<html>a web server<\/html>"\.\.\.\); check that the kubeconfig's server address is an API server's\.\n$/,
      ],
    ];
    for (const [prefix, line] of cases) {
      const kubeconfig = await api.kubeconfig({}, {
        server: `${api.server}${prefix}`,
      });
      const result = await runCli(["get", "ap", "--kubeconfig", kubeconfig]);
      assert.match(result.stderr, line);
      assert.equal(result.code, 1);
    }
  },
});

Deno.test({
  name:
    "a list whose continue tokens come round again, or whose pages never end, is one line instead of a listing forever",
  ...unsanitized,
  async fn() {
    let page = 0;
    await using api = await serveFakeApi((url) => {
      const name = `p-${page++}`;
      // A, B, A... for one; a new token for every page for the other.
      return url.pathname.startsWith("/cycle")
        ? apiList([apiPersona(name)], page % 2 ? "A" : "B")
        : apiList([apiPersona(name)], `token-${page}`);
    });
    const cases: [string, string][] = [
      [
        "/cycle",
        "sent a list page's continue token again, so the list would never end",
      ],
      ["/endless", "sent more than 10000 pages for one list"],
    ];
    for (const [prefix, what] of cases) {
      const kubeconfig = await api.kubeconfig({}, {
        server: `${api.server}${prefix}`,
      });
      const result = await runCli(["get", "ap", "--kubeconfig", kubeconfig]);
      assert.equal(
        result.stderr,
        `dorgu-ws: The API server at ${api.server}${prefix} (context fake (user me)) ${what}.\n`,
      );
      assert.equal(result.code, 1);
    }
    assert.equal(
      api.seen.filter((r) => r.url.pathname.startsWith("/cycle")).length,
      3,
    );
  },
});

Deno.test({
  name:
    "HTTPS_PROXY and HTTP_PROXY leave this machine alone, as kubectl does: a cluster on 127.0.0.1, a server on localhost",
  ...unsanitized,
  async fn() {
    await using api = await serveFakeApi(() => apiList([apiPersona("web")]), {
      tls: true,
    });
    const ws = serveFake(noPersonas);
    // A proxy nobody answers at: what a laptop's proxy is to 127.0.0.1.
    const closed = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const proxy = `http://127.0.0.1:${closed.addr.port}`;
    closed.close();
    const env = {
      HTTPS_PROXY: proxy,
      HTTP_PROXY: proxy,
      https_proxy: proxy,
      http_proxy: proxy,
      NO_PROXY: "corp.example",
    };
    try {
      const cluster = await runCli([
        "get",
        "ap",
        "--kubeconfig",
        await api.kubeconfig({ token: "t" }),
      ], { env });
      assert.equal(cluster.stderr, "");
      assert.match(cluster.stdout, /^ns +web /m);
      const served = await runCli([
        "get",
        "ap",
        "--url",
        ws.url.replace("127.0.0.1", "localhost"),
      ], { env });
      assert.equal(served.stderr, "No personas found.\n");
      assert.equal(served.code, 0);
    } finally {
      await ws.shutdown();
    }
  },
});

Deno.test({
  name:
    "a 429 with Retry-After is waited out as kubectl waits it out, within --timeout",
  ...unsanitized,
  async fn() {
    let busy = 0;
    await using api = await serveFakeApi((url) =>
      url.pathname.startsWith("/always") || busy++ < 2
        ? apiStatus(
          429,
          "TooManyRequests",
          "Too many requests, please try again later.",
          {
            "retry-after": "1",
          },
        )
        : apiList([apiPersona("web")])
    );
    const started = Date.now();
    const waited = await runCli([
      "get",
      "ap",
      "--kubeconfig",
      await api.kubeconfig({}),
    ]);
    assert.equal(waited.stderr, "");
    assert.match(waited.stdout, /^ns +web /m);
    assert.ok(Date.now() - started >= 2000);
    const always = `${api.server}/always`;
    const refused = await runCli([
      "get",
      "ap",
      "--timeout",
      "2s",
      "--kubeconfig",
      await api.kubeconfig({}, { server: always }),
    ]);
    assert.equal(
      refused.stderr,
      `dorgu-ws: The API server at ${always} refused to list applicationpersonas.dorgu.io (429 TooManyRequests): Too many requests, please try again later.\n`,
    );
    assert.equal(refused.code, 1);
    // Asked at once, then after 1 s; a third wait would pass --timeout.
    assert.equal(
      api.seen.filter((r) => r.url.pathname.startsWith("/always")).length,
      2,
    );
  },
});

Deno.test({
  name:
    "an https:// server address where the server speaks plain HTTP is one line that says so",
  ...unsanitized,
  async fn() {
    await using api = await serveFakeApi(() => apiList([]));
    const https = api.server.replace("http:", "https:");
    const result = await runCli([
      "get",
      "ap",
      "--kubeconfig",
      await api.kubeconfig({}, { server: https }),
    ]);
    assert.equal(
      result.stderr,
      `dorgu-ws: Cannot reach the API server at ${https} (context fake (user me)): it does not speak TLS there (is it an http:// address?); check the kubeconfig's server address.\n`,
    );
    assert.equal(result.code, 1);
  },
});
