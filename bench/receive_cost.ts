/**
 * What one received event costs a client of the library, per event, on
 * one core: checked (`Connection.onEvent`: parsed, checked against the
 * protocol's schemas), and as text (`eventsAsText`, the load clients'
 * mode: counted, one in 16 read and checked with `readEvent`). The socket
 * is a stand-in driven in a loop, so only the client's own work is timed.
 *
 *   deno run bench/receive_cost.ts [EVENTS]
 *
 * Prints one `result {json}` line: microseconds per event.
 *
 * @module
 */
import {
  Connection,
  eventsAsText,
  readEvent,
  webSocketDialer,
  type WebSocketLike,
} from "../src/client/mod.ts";
import { benchEvent, eventFrame } from "./control.ts";

const events = Number(Deno.args[0] ?? 300_000);

// A socket that is open at once and delivers what `deliver` is given.
function standIn(): { socket: WebSocketLike; deliver(text: string): void } {
  const socket = {
    readyState: 1,
    send() {},
    close() {},
    onopen: null,
    onerror: null,
    onclose: null,
    onmessage: null,
  } as unknown as WebSocketLike & {
    onopen: () => void;
    onmessage: (event: { data: string }) => void;
  };
  queueMicrotask(() => socket.onopen());
  return { socket, deliver: (data) => socket.onmessage({ data }) };
}

const frames = Array.from(
  { length: 1000 },
  (_, i) => eventFrame(benchEvent(i), i + 1),
);

async function perEvent(asText: boolean): Promise<number> {
  const { socket, deliver } = standIn();
  let counted = 0;
  let sampled = 0;
  const dial = webSocketDialer("ws://stand-in/ws", { create: () => socket });
  const connection = await Connection.open(
    asText
      ? eventsAsText(dial, (text) => {
        if (++counted % 16 === 0) sampled += readEvent(text).offset;
      })
      : dial,
    { url: "ws://stand-in/ws" },
  );
  connection.onEvent = (event) => {
    counted++;
    sampled += event.offset;
  };
  const run = (n: number) => {
    for (let i = 0; i < n; i++) deliver(frames[i % frames.length]);
  };
  run(20_000);
  const started = performance.now();
  run(events);
  const us = ((performance.now() - started) * 1000) / events;
  if (sampled === 0) throw new Error("nothing was read");
  return us;
}

const checked = await perEvent(false);
const text = await perEvent(true);
console.log(
  `result ${
    JSON.stringify({
      checkedUs: Number(checked.toFixed(3)),
      asTextUs: Number(text.toFixed(3)),
    })
  }`,
);
