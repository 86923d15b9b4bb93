/**
 * Paginated lists: the continue token read from a page's text before it
 * is parsed (so the next page is asked for while this one is handed
 * over), for both orders the API server writes a list in, and never a
 * token from inside an item.
 */
import assert from "node:assert/strict";
import { continueIn, listCollection } from "../src/kube/list.ts";
import { plainKubeClient } from "./support/kube_client.ts";

Deno.test("continue token: from the list's own metadata, before or after the items", () => {
  // Built-in lists: Go's struct order puts the list metadata first.
  assert.equal(
    continueIn(
      `{"kind":"EventList","apiVersion":"v1","metadata":{"resourceVersion":"7","continue":"abc="},"items":[{"metadata":{"name":"e"}}]}`,
    ),
    "abc=",
  );
  // Custom resources' lists: keys sorted, metadata last; pretty-printed.
  assert.equal(
    continueIn(`{
  "apiVersion": "dorgu.io/v1",
  "items": [{"metadata": {"name": "a", "annotations": {"x": "]"}}}],
  "kind": "ApplicationPersonaList",
  "metadata": {
    "continue": "eyJ2IjoibWV0YS5rOHMuaW8vdjEifQ",
    "remainingItemCount": 3,
    "resourceVersion": "3222"
  }
}`),
    "eyJ2IjoibWV0YS5rOHMuaW8vdjEifQ",
  );
});

Deno.test("continue token: none on a last page, whatever its items hold", () => {
  for (
    const text of [
      `{"apiVersion":"v1","items":[{"metadata":{"name":"a"},"data":{"metadata":{"continue":"x"}}}],"kind":"List","metadata":{"resourceVersion":"9"}}`,
      `{"kind":"List","metadata":{"resourceVersion":"9"},"items":[{"metadata":{"continue":"x"}}]}`,
      `{"kind":"Status","metadata":{"continue":"x"}}`,
      `not json at all`,
    ]
  ) assert.equal(continueIn(text), undefined, text);
});

/** A fake API server answering list pages from a script, in order. */
function fakeApi(pages: ((url: URL) => string)[]) {
  const seen: string[] = [];
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    (req) => {
      const url = new URL(req.url);
      seen.push(url.searchParams.get("continue") ?? "");
      const page = pages.shift();
      return page
        ? new Response(page(url), {
          headers: { "content-type": "application/json" },
        })
        : new Response("{}", { status: 500 });
    },
  );
  const client = plainKubeClient(`http://127.0.0.1:${server.addr.port}`);
  return { seen, client, server };
}

const page = (names: string[], next?: string, decoy?: string) =>
  JSON.stringify({
    kind: "List",
    // A decoy token before the items, the real one after: JSON.parse keeps
    // the last, so the guess read from the text is wrong.
    ...(decoy ? { metadata: { continue: decoy } } : {}),
    items: names.map((name) => ({ metadata: { name } })),
    metadata: { resourceVersion: "5", ...(next ? { continue: next } : {}) },
  });

/**
 * A fake API server on its own thread, answering by continue token: a
 * request counts as seen when it reaches the server, even while the
 * listing's thread is busy handing a page over (a server on the test's
 * own thread would see nothing until the listing awaits).
 */
async function threadedApi(pages: Record<string, string>) {
  const seen = new Int32Array(new SharedArrayBuffer(4));
  const code = `self.onmessage = ({ data }) => {
    const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen({ port }) {
      self.postMessage(port);
    } }, (req) => {
      Atomics.add(data.seen, 0, 1);
      const page = data.pages[new URL(req.url).searchParams.get("continue") ?? ""];
      return new Response(page ?? "{}", { status: page ? 200 : 500 });
    });
  };`;
  const worker = new Worker(
    `data:application/javascript,${encodeURIComponent(code)}`,
    { type: "module" },
  );
  const port = await new Promise<number>((resolve) => {
    worker.onmessage = ({ data }) => resolve(data);
    worker.postMessage({ pages, seen });
  });
  const client = plainKubeClient(`http://127.0.0.1:${port}`);
  return {
    seen: () => Atomics.load(seen, 0),
    client,
    [Symbol.dispose]() {
      client.close();
      worker.terminate();
    },
  };
}

Deno.test("listing: the next page is asked for before this one is handed over", async () => {
  using api = await threadedApi({
    "": page(["a", "b"], "t2"),
    "t2": page(["c"], "t3"),
    "t3": page(["d"]),
  });
  const added: { name: string; seen: number }[] = [];
  let pages = 0;
  const version = await listCollection(api.client, "/api/v1/things", {
    begin: () => ({
      add(object) {
        const name = (object as { metadata: { name: string } }).metadata.name;
        // A page's first object is handed over without giving the event
        // loop a turn, for up to 2 s or until the next page's request
        // reaches the server: it can only have if it was sent before.
        if (name === "a" || name === "c") {
          pages++;
          const until = Date.now() + 2000;
          while (api.seen() <= pages && Date.now() < until) { /* busy */ }
        }
        added.push({ name, seen: api.seen() });
      },
      commit() {},
    }),
  });
  assert.equal(version, "5");
  assert.deepEqual(added.map((a) => a.name), ["a", "b", "c", "d"]);
  // While page 1's items were handed over, page 2 had reached the server;
  // while page 2's, page 3.
  assert.equal(added[0].seen, 2, JSON.stringify(added));
  assert.equal(added[2].seen, 3, JSON.stringify(added));
  // Exactly one request per page: nothing after the last.
  assert.equal(api.seen(), 3);
});

Deno.test("listing: a wrong guess is dropped and the parsed token followed", async () => {
  const api = fakeApi([
    () => page(["a"], "real", "decoy"),
    // Whichever of the two arrives first: the decoy's answer is never read.
    (url) =>
      url.searchParams.get("continue") === "real"
        ? page(["b"])
        : page(["wrong"]),
    (url) =>
      url.searchParams.get("continue") === "real"
        ? page(["b"])
        : page(["wrong"]),
  ]);
  const names: string[] = [];
  try {
    await listCollection(api.client, "/api/v1/things", {
      begin: () => ({
        add: (object) =>
          names.push((object as { metadata: { name: string } }).metadata.name),
        commit() {},
      }),
    });
    assert.deepEqual(names, ["a", "b"]);
    assert.ok(api.seen.includes("real"), JSON.stringify(api.seen));
  } finally {
    api.client.close();
    await api.server.shutdown();
  }
});
