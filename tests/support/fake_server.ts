/**
 * A WebSocket server that breaks the protocol on purpose: it answers each
 * text message a client sends with the frames a test chooses, so the tests
 * can see what a client does with a server that drifted.
 */

/** A running fake server. */
export interface FakeServer {
  /** Its `/ws` URL. */
  url: string;
  /** Its port. */
  port: number;
  /** Stops it. */
  shutdown(): Promise<void>;
}

/** Serves on loopback; `answer` maps each parsed client message to frames. */
export function serveFake(
  answer: (message: Record<string, unknown>) => Record<string, unknown>[],
): FakeServer {
  const server = Deno.serve({
    hostname: "127.0.0.1",
    port: 0,
    onListen: () => {},
  }, (req) => {
    const { socket, response } = Deno.upgradeWebSocket(req);
    socket.onmessage = (e) => {
      for (const frame of answer(JSON.parse(e.data))) {
        socket.send(JSON.stringify(frame));
      }
    };
    return response;
  });
  return {
    url: `ws://127.0.0.1:${server.addr.port}/ws`,
    port: server.addr.port,
    shutdown: () => server.shutdown(),
  };
}

/** An answer to any request: no personas, at offset 0. */
export function noPersonas(
  message: Record<string, unknown>,
): Record<string, unknown>[] {
  return [{
    type: "response",
    topic: message.topic,
    requestId: message.requestId,
    payload: { personas: [] },
    timestamp: new Date().toISOString(),
    epoch: "e",
    offset: 0,
  }];
}
