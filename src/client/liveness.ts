/**
 * Noticing a server that went silent. A WebSocket whose peer vanished
 * without a close (a laptop that slept, a NAT or a proxy that forgot the
 * connection, a server frozen mid-stream) stays open on this side for as
 * long as nothing is sent: the server's pings never reach the script (the
 * runtime answers them itself), so a follower waiting for events would
 * wait for ever, showing a stale picture as live. client-go guards its
 * watches the same way (an HTTP/2 ping after 30 s without a frame).
 *
 * So a channel that has heard nothing for `idleMs` asks the server
 * something small (a `cluster` request; its answer, or an error, is
 * ignored by the connection, which never sent that requestId), and one
 * that still hears nothing within `timeoutMs` is dropped as 1006, which a
 * follower reconnects and resumes from.
 *
 * @module
 */
import { timestamp } from "../protocol/messages.ts";
import { startTimer } from "../timer.ts";
import type { Channel, Dialer } from "./channel.ts";

/** How long a channel may hear nothing before it asks, by default. */
export const IDLE_MS = 30_000;

/** Options for {@link probeWhenQuiet}. */
export interface QuietOptions {
  /** Silence before asking, ms; 0 never asks. */
  idleMs: number;
  /** How long the answer may take before the channel is dropped, ms. */
  timeoutMs: number;
}

/** `dial`, with each channel asking a server that has gone quiet. */
export function probeWhenQuiet(dial: Dialer, options: QuietOptions): Dialer {
  if (options.idleMs <= 0) return dial;
  return async (signal) => watchSilence(await dial(signal), options);
}

function watchSilence(channel: Channel, options: QuietOptions): Channel {
  let heard = false;
  let done = false;
  let probes = 0;
  let cancel = () => {};
  let dropped: ((code: number, reason: string) => void) | undefined;
  const stop = () => {
    done = true;
    cancel();
  };
  // Each turn: silent since the last one? Ask, and give the answer
  // `timeoutMs` before dropping.
  const wait = (ms: number, asked: boolean) => {
    cancel = startTimer(ms, () => {
      if (done) return;
      if (heard) return heard = false, wait(options.idleMs, false);
      if (asked) {
        stop();
        channel.close(1000, "");
        return dropped?.(1006, "");
      }
      try {
        channel.send(JSON.stringify({
          type: "request",
          topic: "cluster",
          requestId: `dorgu-ws-liveness-${++probes}`,
          timestamp: timestamp(),
        }));
      } catch {
        // Closed meanwhile: its close is on its way.
      }
      wait(options.timeoutMs, true);
    });
  };
  wait(options.idleMs, false);
  return {
    send: (text) => channel.send(text),
    close: (code, reason) => {
      stop();
      channel.close(code, reason);
    },
    listen: (listener) => {
      let closed = false;
      const close = (code: number, reason: string) => {
        stop();
        if (!closed) listener.close(code, reason);
        closed = true;
      };
      dropped = close;
      channel.listen({
        message: (text) => {
          heard = true;
          listener.message(text);
        },
        close,
      });
    },
  };
}
