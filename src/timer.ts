/**
 * One-shot timers that do not go through the global `setTimeout`.
 *
 * From Deno 2.9 on, the global `setTimeout` is Node's (it returns a
 * `Timeout` object), and its first call in a process loads Node's timer
 * modules: about 4 ms, which `dorgu-ws get` paid before its first request
 * only to arm deadlines that almost never fire. `AbortSignal.timeout` runs
 * on the runtime's own web timers instead, and Deno keeps the process
 * alive for such a signal only while it has an `abort` listener, so
 * removing the listener is all that cancelling takes: the timer then ends
 * unheard and holds nothing open. Browsers (the dashboard's page shares
 * the protocol code that uses this) behave the same, minus the keep-alive.
 *
 * @module
 */

/** Cancels a timer that has not fired; does nothing once it has. */
export type CancelTimer = () => void;

// The longest wait the runtime's timers take: past it, they fire at once.
const MAX_WAIT_MS = 2 ** 31 - 1;

/**
 * Calls `fire` once, after `ms` milliseconds (rounded up; at once for zero,
 * less or NaN), unless the returned function is called first. Keeps the
 * process alive until then, as `setTimeout` does.
 */
export function startTimer(ms: number, fire: () => void): CancelTimer {
  const wait = ms > 0 ? Math.ceil(ms) : 0;
  const signal = AbortSignal.timeout(Math.min(wait, MAX_WAIT_MS));
  let cancel: CancelTimer = () => signal.removeEventListener("abort", onAbort);
  // A longer wait is taken in turns of the longest.
  const onAbort = () => {
    if (wait > MAX_WAIT_MS) cancel = startTimer(wait - MAX_WAIT_MS, fire);
    else fire();
  };
  signal.addEventListener("abort", onAbort, { once: true });
  return () => cancel();
}

/**
 * Resolves after one turn of the event loop, which sends what async
 * operations have queued (a `fetch` just started). A zero-delay timer does
 * the same but waits about 2 ms for it (measured on Deno 2.9: 1,000 of
 * them took 2.1 s); a message through a fresh channel takes about 25 us.
 */
export function nextTurn(): Promise<void> {
  return new Promise((resolve) => {
    const channel = new MessageChannel();
    channel.port1.onmessage = () => {
      channel.port1.close();
      resolve();
    };
    channel.port2.postMessage(0);
  });
}
