/**
 * The HTTP/1.1 side of the transport without a network: the request-head
 * parser, and one connection's exchanges over a scripted fake socket
 * (heads split at every byte, EOF in the middle of a head, pipelined
 * requests, HEAD answered with GET's headers).
 */
import assert from "node:assert/strict";
import { createLogger } from "../src/log.ts";
import {
  type ExchangeContext,
  type HttpConnection,
  type RequestHandler,
  serveHttp,
} from "../src/transport/http_exchange.ts";
import { HttpError, parseRequestHead } from "../src/transport/http1.ts";
import { FakeConn, settle } from "./support/fake_conn.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const bytes = (text: string) => encoder.encode(text);

function parse(text: string, maxBytes = 16 * 1024) {
  const buffer = bytes(text);
  return parseRequestHead(buffer, { end: buffer.length, maxBytes });
}

function status(fn: () => unknown): number | undefined {
  try {
    fn();
  } catch (error) {
    if (error instanceof HttpError) return error.status;
    throw error;
  }
  return undefined;
}

Deno.test("http1: a head is parsed with its fields in order, names lower-cased; an unfinished one is not yet", () => {
  const head = parse(
    "GET /metrics?x=1 HTTP/1.1\r\nHost: a\r\nX-Two:  b c \r\n\r\nextra",
  );
  assert.deepEqual(head, {
    method: "GET",
    target: "/metrics?x=1",
    version: "1.1",
    headers: [["host", "a"], ["x-two", "b c"]],
    bytes: 52,
  });
  assert.equal(parse("GET / HTTP/1.1\r\nHost: a\r\n"), null);
});

Deno.test("http1: malformed heads get 400, 431 or 505", () => {
  const cases: [string, number][] = [
    ["GET / HTTP/1.1\nHost: a\r\n\r\n", 400],
    ["GET  / HTTP/1.1\r\n\r\n", 400],
    ["GET / HTTP/2.0\r\n\r\n", 505],
    ["GET http://x/ HTTP/1.1\r\n\r\n", 400],
    ["GET /a/../b HTTP/1.1\r\n\r\n", 400],
    ["GET / HTTP/1.1\r\n folded: x\r\n\r\n", 400],
    ["GET / HTTP/1.1\r\nBad Name: x\r\n\r\n", 400],
    ["GET / HTTP/1.1\r\nX: a\u0001b\r\n\r\n", 400],
    ["\u0016\u0003\u0001", 400],
    [`GET / HTTP/1.1\r\n${"X-A: b\r\n".repeat(101)}\r\n`, 431],
  ];
  for (const [text, code] of cases) {
    assert.equal(status(() => parse(text)), code, JSON.stringify(text));
  }
  assert.equal(status(() => parse(`GET /${"a".repeat(100)}`, 64)), 431);
});

/** Serves `conn` with `handler`, as the server would; resolves when done. */
function serve(conn: FakeConn, handler: RequestHandler): Promise<boolean> {
  const http: HttpConnection = {
    conn: conn.conn,
    state: "head",
    since: 0,
    deadline: 0,
  };
  const ctx: ExchangeContext = {
    handler,
    limits: {
      headerTimeoutMs: 10_000,
      writeTimeoutMs: 10_000,
      maxHeadBytes: 16_384,
    },
    log: createLogger({ write: () => {} }),
    stopping: () => false,
    accept: () => {
      throw new HttpError(400, "No upgrades here.");
    },
    adopt: () => {},
  };
  return serveHttp(http, ctx);
}

/** The responses written, split at their heads and by content-length. */
function responses(written: Uint8Array): { head: string; body: string }[] {
  const text = decoder.decode(written);
  const out: { head: string; body: string }[] = [];
  let at = 0;
  while (at < text.length) {
    const end = text.indexOf("\r\n\r\n", at);
    const head = text.slice(at, end);
    const length = Number(/content-length: (\d+)/.exec(head)?.[1] ?? 0);
    const isHead = out.length === 1;
    const bodyLength = isHead ? 0 : length;
    out.push({ head, body: text.slice(end + 4, end + 4 + bodyLength) });
    at = end + 4 + bodyLength;
  }
  return out;
}

Deno.test("http exchange: HEAD gets the headers GET gets, content-length included, and no body", async () => {
  // Issue 19, defect 5: HEAD answers carried content-length: 0.
  const conn = new FakeConn();
  conn.send(
    bytes(
      "GET /x HTTP/1.1\r\nHost: a\r\n\r\nHEAD /x HTTP/1.1\r\nHost: a\r\n\r\nGET /x HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
    ),
    { split: 1 },
  );
  const handled = await serve(
    conn,
    () =>
      new Response("twelve bytes", {
        headers: { "content-type": "text/plain" },
      }),
  );
  assert.equal(handled, false);
  const [get, head, last] = responses(conn.written);
  assert.equal(get.body, "twelve bytes");
  assert.equal(head.body, "");
  assert.equal(
    head.head,
    get.head,
    "the same status line and headers, content-length: 12 included",
  );
  assert.match(head.head, /content-length: 12/);
  assert.equal(last.body, "twelve bytes");
  assert.match(last.head, /connection: close/);
});

Deno.test("http exchange: EOF or a reset in the middle of a head ends the connection without a response", async () => {
  for (const end of ["eof", "reset"] as const) {
    const conn = new FakeConn();
    conn.send(bytes("GET /x HTTP/1.1\r\nHo"), { split: 3 });
    if (end === "eof") conn.end();
    else conn.reset();
    let called = false;
    const handled = await serve(conn, () => {
      called = true;
      return new Response("no");
    });
    assert.equal(handled, false);
    assert.equal(called, false);
    assert.equal(conn.written.length, 0, end);
  }
});

Deno.test("http exchange: a body is refused with 400 and nothing after it is served", async () => {
  const conn = new FakeConn();
  conn.send(
    bytes(
      "POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nGET /x HTTP/1.1\r\nHost: a\r\n\r\n",
    ),
  );
  let calls = 0;
  await serve(conn, () => {
    calls++;
    return new Response("served");
  });
  await settle();
  const answers = responses(conn.written);
  assert.equal(answers.length, 1);
  assert.match(answers[0].head, /^HTTP\/1\.1 400 /);
  assert.equal(calls, 0);
});
