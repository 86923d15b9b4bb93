/**
 * A {@link WebSocketConnection} on a {@link FakeConn} with a hand-moved
 * clock, and what its owner heard: the unit tests' way to drive one
 * connection through every state.
 */
import type { CloseInfo } from "../../src/transport/close.ts";
import { encodeFrame, OPCODE } from "../../src/transport/frames.ts";
import {
  WebSocketConnection,
  type WebSocketLimits,
} from "../../src/transport/websocket.ts";
import { WritePacer } from "../../src/transport/write_pacer.ts";
import { FakeClock, FakeConn } from "./fake_conn.ts";

/** The server's defaults, as `serve` passes them. */
export const LIMITS: WebSocketLimits = {
  maxMessageBytes: 512 * 1024,
  maxMessageFrames: 131_072,
  messageTimeoutMs: 10_000,
  sendBufferMessages: 256,
  sendBufferBytes: 4 * 1024 * 1024,
  pingIntervalMs: 30_000,
  readTimeoutMs: 60_000,
  writeTimeoutMs: 10_000,
};

const MASK = new Uint8Array([0x11, 0x22, 0x33, 0x44]);
const encoder = new TextEncoder();

/** A masked client frame. */
export function clientFrame(
  opcode: number,
  payload: Uint8Array | string = new Uint8Array(0),
  options: { fin?: boolean } = {},
): Uint8Array {
  const bytes = typeof payload === "string" ? encoder.encode(payload) : payload;
  return encodeFrame(opcode, bytes, { mask: MASK, fin: options.fin });
}

/** A masked client close frame with `code` (and no reason). */
export function clientClose(code: number): Uint8Array {
  return clientFrame(OPCODE.close, new Uint8Array([code >> 8, code & 0xff]));
}

/** A connection under test and everything its owner was told. */
export interface FakeSocket {
  fake: FakeConn;
  clock: FakeClock;
  socket: WebSocketConnection;
  texts: string[];
  binaries: number[];
  closes: CloseInfo[];
  /** Times the server was told the connection is gone. */
  released: number;
}

/** Starts a connection with `limits` over a fresh fake connection. */
export function fakeSocket(
  limits: Partial<WebSocketLimits> = {},
): FakeSocket {
  const fake = new FakeConn();
  const clock = new FakeClock();
  clock.now = 1000;
  const socket = new WebSocketConnection(fake.conn, {
    limits: { ...LIMITS, ...limits },
    protocol: "",
    clock: clock.read,
    release: () => state.released++,
    // The fake socket has no runtime budget to keep within: every write
    // starts when the writer asks (write_pacer_test.ts tests the pacing).
    pacer: new WritePacer(Infinity),
  });
  const state: FakeSocket = {
    fake,
    clock,
    socket,
    texts: [],
    binaries: [],
    closes: [],
    released: 0,
  };
  socket.handlers = {
    text: (_, text) => state.texts.push(text),
    binary: (_, bytes) => state.binaries.push(bytes),
    closed: (_, info) => state.closes.push(info),
  };
  socket.start();
  return state;
}
