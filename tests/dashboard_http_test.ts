/**
 * The dashboard page's HTTP side, without a browser: security headers on
 * every response, ETag revalidation, `/ui/auth`, and `--dashboard=false`.
 */
import assert from "node:assert/strict";
import { copyExamples, delay, startTestServer } from "./support/server.ts";

Deno.test("the page's HTTP side: security headers on every response, ETag revalidation, /ui/auth, --dashboard=false", async () => {
  const dir = await copyExamples();
  await using server = await startTestServer({ source: dir });
  const page = await fetch(`${server.httpUrl}/`);
  const html = await page.text();
  assert.equal(page.status, 200);
  assert.match(html, /<script type="module" src="ui\/app.js"><\/script>/);
  const csp = page.headers.get("content-security-policy") ?? "";
  assert.match(csp, /default-src 'none'/);
  assert.match(csp, /script-src 'self'/);
  assert.match(csp, /style-src 'self'/);
  assert.match(csp, /frame-ancestors 'none'/);
  assert.match(
    csp,
    new RegExp(
      `connect-src 'self' ws://127\\.0\\.0\\.1:${server.port} wss://127\\.0\\.0\\.1:${server.port}`,
    ),
  );
  for (
    const path of [
      "/",
      "/ui/app.js",
      "/ui/style.css",
      "/ui/icon.svg",
      "/ui/nope",
      "/ui/auth",
    ]
  ) {
    const response = await fetch(`${server.httpUrl}${path}`);
    await response.body?.cancel();
    assert.equal(
      response.headers.get("x-content-type-options"),
      "nosniff",
      path,
    );
    assert.equal(response.headers.get("referrer-policy"), "no-referrer", path);
    assert.equal(response.headers.get("x-frame-options"), "DENY", path);
    assert.equal(response.headers.get("content-security-policy"), csp, path);
  }
  const script = await fetch(`${server.httpUrl}/ui/app.js`);
  const etag = script.headers.get("etag") ?? "";
  assert.equal(
    script.headers.get("content-type"),
    "text/javascript; charset=utf-8",
  );
  assert.ok((await script.bytes()).length > 1000);
  const again = await fetch(`${server.httpUrl}/ui/app.js`, {
    headers: { "if-none-match": etag },
  });
  assert.equal(again.status, 304);
  assert.equal(await again.text(), "");
  assert.equal(
    await fetch(`${server.httpUrl}/ui/nope`).then(async (r) => {
      await r.body?.cancel();
      return r.status;
    }),
    404,
  );
  assert.deepEqual(await (await fetch(`${server.httpUrl}/ui/auth`)).json(), {
    ok: true,
    auth: "none",
  });

  const tokens = await Deno.makeTempFile();
  await Deno.writeTextFile(tokens, "good,ops\n");
  await using guarded = await startTestServer({
    source: dir,
    auth: "token",
    tokenFile: tokens,
  });
  const ask = async (token?: string) =>
    await (await fetch(`${guarded.httpUrl}/ui/auth`, {
      headers: token ? { authorization: `Bearer ${token}` } : {},
    })).json();
  assert.deepEqual(await ask(), {
    ok: false,
    auth: "token",
    message: "This server asks for a token.",
  });
  assert.deepEqual(await ask("bad"), {
    ok: false,
    auth: "token",
    message: "The token is not valid.",
    retry: false,
  });
  assert.deepEqual(await ask("good"), { ok: true, auth: "token", user: "ops" });

  await using off = await startTestServer({ source: dir, dashboard: false });
  for (const path of ["/", "/ui/app.js", "/ui/auth"]) {
    const response = await fetch(`${off.httpUrl}${path}`);
    assert.equal(response.status, 404, path);
    assert.doesNotMatch(await response.text(), /ui\//);
  }
  await delay(0);
});
