/**
 * A WebSocket client over a bare TCP connection, for what Deno's own
 * client cannot do on demand: never read (a stalled client), send any
 * frame, or read the handshake's HTTP status. Every text frame it reads
 * is checked against the published contract (support/contract.ts): a
 * frame that breaks it makes the read throw.
 */

import { checkServerFrame } from "./contract.ts";
import type { Message } from "./ws_client.ts";

/** One frame read from the server. */
export interface Frame {
  opcode: number;
  payload: Uint8Array;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** A hand-driven WebSocket connection. */
export class RawSocket {
  readonly #conn: Deno.Conn;
  #buffer: Uint8Array;

  private constructor(conn: Deno.Conn, leftover: Uint8Array) {
    this.#conn = conn;
    this.#buffer = leftover;
  }

  /**
   * Opens a TCP connection and performs the upgrade. Resolves with the
   * HTTP status; the socket is usable only when it is 101.
   */
  static async connect(
    port: number,
    options: { path?: string; headers?: Record<string, string> } = {},
  ): Promise<{ socket: RawSocket; status: number; head: string }> {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port });
    const headers = {
      host: `127.0.0.1:${port}`,
      upgrade: "websocket",
      connection: "Upgrade",
      "sec-websocket-key": btoa(
        String.fromCharCode(...crypto.getRandomValues(new Uint8Array(16))),
      ),
      "sec-websocket-version": "13",
      ...options.headers,
    };
    const request = `GET ${options.path ?? "/ws"} HTTP/1.1\r\n${
      Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join("")
    }\r\n`;
    await writeAll(conn, encoder.encode(request));
    let received: Uint8Array = new Uint8Array(0);
    while (true) {
      const end = indexOfHeaderEnd(received);
      if (end >= 0) {
        const head = decoder.decode(received.subarray(0, end));
        const status = Number(head.split(" ")[1]);
        return {
          socket: new RawSocket(conn, received.subarray(end + 4)),
          status,
          head,
        };
      }
      const chunk = new Uint8Array(4096);
      const n = await conn.read(chunk);
      if (n === null) throw new Error("The server closed during the upgrade.");
      received = concat(received, chunk.subarray(0, n));
    }
  }

  /** The HTTP status an upgrade with `headers` gets (101 when accepted). */
  static async upgradeStatus(
    port: number,
    headers: Record<string, string> = {},
  ): Promise<number> {
    const { socket, status } = await RawSocket.connect(port, { headers });
    socket.close();
    return status;
  }

  /** Sends one masked frame, as a client must. */
  async sendFrame(opcode: number, payload: Uint8Array): Promise<void> {
    await writeAll(this.#conn, clientFrame(opcode, payload));
  }

  /** Writes bytes as they are: frames built by {@link clientFrame}, say. */
  async write(bytes: Uint8Array): Promise<void> {
    await writeAll(this.#conn, bytes);
  }

  /** Sends bytes as they are: a frame cut short, for instance. */
  sendRaw(bytes: Uint8Array): Promise<void> {
    return writeAll(this.#conn, bytes);
  }

  /** Sends a text frame. */
  sendText(text: string): Promise<void> {
    return this.sendFrame(0x1, encoder.encode(text));
  }

  /**
   * Reads the next frame, or null at end of stream, taking at most
   * `readBytes` from the network at a time (a slow reader takes little).
   */
  async readFrame(readBytes = 65536): Promise<Frame | null> {
    while (true) {
      const frame = this.#parse();
      if (frame) return frame;
      const chunk = new Uint8Array(readBytes);
      const n = await this.#conn.read(chunk).catch(() => null);
      if (n === null) return null;
      this.#buffer = concat(this.#buffer, chunk.subarray(0, n));
    }
  }

  /**
   * Reads the next data or close frame, answering pings on the way as any
   * WebSocket client does (the server pings a client that is behind, to
   * see it read); null at end of stream.
   */
  async readMessage(): Promise<Frame | null> {
    while (true) {
      const frame = await this.readFrame();
      if (frame === null || frame.opcode < 0x9) return frame;
      if (frame.opcode === 0x9) {
        await this.sendFrame(0xa, frame.payload).catch(() => {});
      }
    }
  }

  /**
   * Reads the next message (answering pings on the way) and parses it;
   * null at end of stream. Throws when it is not a text message.
   */
  async readJson(): Promise<Message | null> {
    const frame = await this.readMessage();
    if (frame === null) return null;
    if (frame.opcode !== 0x1) {
      throw new Error(`Expected a text message, got opcode ${frame.opcode}.`);
    }
    return JSON.parse(decoder.decode(frame.payload));
  }

  /**
   * Reads everything until the server's close frame or end of stream.
   * Returns the text frames and the close code, if one came.
   */
  async drain(): Promise<
    { texts: string[]; closeCode?: number; reason?: string }
  > {
    const texts: string[] = [];
    while (true) {
      const frame = await this.readFrame();
      if (!frame) return { texts };
      if (frame.opcode === 0x1) texts.push(decoder.decode(frame.payload));
      if (frame.opcode === 0x8) {
        const code = frame.payload.length >= 2
          ? (frame.payload[0] << 8) | frame.payload[1]
          : undefined;
        return {
          texts,
          closeCode: code,
          reason: decoder.decode(frame.payload.subarray(2)),
        };
      }
    }
  }

  /** Closes the TCP connection. */
  close(): void {
    try {
      this.#conn.close();
    } catch {
      // Already closed.
    }
  }

  #parse(): Frame | null {
    const b = this.#buffer;
    if (b.length < 2) return null;
    let length = b[1] & 0x7f;
    let offset = 2;
    if (length === 126) {
      if (b.length < 4) return null;
      length = (b[2] << 8) | b[3];
      offset = 4;
    } else if (length === 127) {
      if (b.length < 10) return null;
      length = Number(
        new DataView(b.buffer, b.byteOffset + 2, 8).getBigUint64(0),
      );
      offset = 10;
    }
    if (b.length < offset + length) return null;
    const frame = {
      opcode: b[0] & 0x0f,
      payload: b.slice(offset, offset + length),
    };
    this.#buffer = b.slice(offset + length);
    // The server sends every message as one unfragmented text frame.
    if (frame.opcode === 0x1) checkServerFrame(decoder.decode(frame.payload));
    return frame;
  }
}

/** What a frame built by {@link clientFrame} does differently. */
export interface FrameShape {
  /** The FIN bit; true unless false. */
  fin?: boolean;
  /** The three reserved bits, as a number 0-7. */
  rsv?: number;
  /** Whether the payload is masked, as a client's must be; true unless false. */
  masked?: boolean;
  /**
   * The length the header announces, if not the payload's: a frame header
   * may promise far more than follows.
   */
  declaredLength?: bigint;
}

/**
 * One client frame, built byte by byte so that it can break any rule:
 * unmasked, reserved bits set, a fragment, a length out of all proportion.
 */
export function clientFrame(
  opcode: number,
  payload: Uint8Array = new Uint8Array(0),
  shape: FrameShape = {},
): Uint8Array {
  const length = shape.declaredLength ?? BigInt(payload.length);
  const masked = shape.masked !== false;
  const header: number[] = [
    (shape.fin === false ? 0 : 0x80) | ((shape.rsv ?? 0) << 4) | opcode,
  ];
  const maskBit = masked ? 0x80 : 0;
  if (length < 126n) header.push(maskBit | Number(length));
  else if (length < 65536n) {
    header.push(maskBit | 126, Number(length >> 8n), Number(length & 255n));
  } else {
    header.push(maskBit | 127);
    for (let shift = 56n; shift >= 0n; shift -= 8n) {
      header.push(Number((length >> shift) & 255n));
    }
  }
  if (!masked) return concat(new Uint8Array(header), payload);
  const mask = crypto.getRandomValues(new Uint8Array(4));
  const body = payload.map((byte, i) => byte ^ mask[i % 4]);
  return concat(new Uint8Array(header), mask, body);
}

async function writeAll(conn: Deno.Conn, bytes: Uint8Array): Promise<void> {
  let written = 0;
  while (written < bytes.length) {
    written += await conn.write(bytes.subarray(written));
  }
}

function indexOfHeaderEnd(bytes: Uint8Array): number {
  for (let i = 0; i + 3 < bytes.length; i++) {
    if (
      bytes[i] === 13 && bytes[i + 1] === 10 && bytes[i + 2] === 13 &&
      bytes[i + 3] === 10
    ) return i;
  }
  return -1;
}

/** Joins byte arrays into one. */
export function concat(...parts: Uint8Array[]): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}
