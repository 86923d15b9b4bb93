/**
 * The connection's state machine on its own: every transition, what it
 * asks the connection to do, and the transitions that must not happen
 * (a second close, an echo while open, a deadline not yet reached).
 */
import assert from "node:assert/strict";
import type { CloseInfo } from "../src/transport/close.ts";
import { Lifecycle } from "../src/transport/lifecycle.ts";

function recorded() {
  const effects: string[] = [];
  const life = new Lifecycle({
    told: (info) => effects.push(`told ${info.cause} ${info.code}`),
    shutWrite: () => effects.push("shutWrite"),
    ended: (info) => effects.push(`ended ${info.cause} ${info.code}`),
  });
  return { life, effects };
}

/** The promise data waits on, read through a function: no narrowing. */
function heldOf(life: Lifecycle): Promise<void> | undefined {
  const phase = life.phase;
  return phase.name === "open" ? phase.held : undefined;
}

const READ_TIMEOUT: CloseInfo = {
  cause: "read_timeout",
  code: 1001,
  reason: "Read timeout.",
};

Deno.test("lifecycle: open, hold and release data, which a close also releases", async () => {
  const { life, effects } = recorded();
  assert.deepEqual(life.phase, { name: "open", held: undefined });
  assert.equal(life.release(), false, "nothing was held");
  assert.equal(life.hold(), true);
  const held = heldOf(life);
  assert.ok(held instanceof Promise);
  assert.equal(life.hold(), false, "already held");
  let resumed = false;
  held.then(() => resumed = true);
  assert.equal(life.release(), true);
  await held;
  assert.ok(resumed);
  assert.deepEqual(life.phase, { name: "open", held: undefined });
  life.hold();
  const again = heldOf(life);
  life.close(READ_TIMEOUT, { awaitEcho: true, deadline: 2000 });
  await again;
  assert.equal(life.hold(), false, "no holding once closing");
  assert.deepEqual(effects, ["told read_timeout 1001"]);
});

Deno.test("lifecycle: we close, our frame goes out, the stream is ended, the echo ends it", () => {
  const { life, effects } = recorded();
  assert.equal(
    life.close(READ_TIMEOUT, { awaitEcho: true, deadline: 2000 }),
    true,
  );
  assert.deepEqual(life.phase, {
    name: "closing",
    info: READ_TIMEOUT,
    awaitEcho: true,
    deadline: 2000,
    sent: false,
  });
  assert.equal(
    life.close({ ...READ_TIMEOUT, cause: "shutdown" }, {
      awaitEcho: true,
      deadline: 9,
    }),
    false,
    "a second close changes nothing",
  );
  life.closeSent();
  assert.equal(life.phase.name === "closing" && life.phase.sent, true);
  life.closeSent();
  life.echo();
  assert.deepEqual(life.phase, { name: "closed", info: READ_TIMEOUT });
  life.echo();
  life.lose();
  assert.deepEqual(effects, [
    "told read_timeout 1001",
    "shutWrite",
    "ended read_timeout 1001",
  ]);
});

Deno.test("lifecycle: the peer closed first: it ends as soon as our echo is out", () => {
  const { life, effects } = recorded();
  life.close({ cause: "client", code: 4000, reason: "bye" }, {
    awaitEcho: false,
    deadline: 2000,
  });
  life.closeSent();
  assert.deepEqual(life.phase, {
    name: "closed",
    info: { cause: "client", code: 4000, reason: "bye" },
  });
  assert.deepEqual(effects, ["told client 4000", "ended client 4000"]);
});

Deno.test("lifecycle: a closing handshake past its deadline is cut, not before", () => {
  const { life, effects } = recorded();
  life.close(READ_TIMEOUT, { awaitEcho: true, deadline: 2000 });
  life.closeSent();
  life.expire(1999);
  assert.equal(life.phase.name, "closing");
  life.expire(2000);
  assert.equal(life.phase.name, "closed");
  assert.deepEqual(effects, [
    "told read_timeout 1001",
    "shutWrite",
    "ended read_timeout 1001",
  ]);
});

Deno.test("lifecycle: an echo or a deadline means nothing while open", () => {
  const { life, effects } = recorded();
  life.echo();
  life.expire(Infinity);
  life.closeSent();
  assert.equal(life.phase.name, "open");
  assert.deepEqual(effects, []);
});

Deno.test("lifecycle: lost while open: the owner hears the cause and 1006, once", () => {
  const { life, effects } = recorded();
  life.lose();
  assert.deepEqual(life.phase, {
    name: "closed",
    info: { cause: "client_gone", code: 1006, reason: "" },
  });
  life.lose("shutdown");
  life.close(READ_TIMEOUT, { awaitEcho: true, deadline: 0 });
  assert.deepEqual(effects, [
    "told client_gone 1006",
    "ended client_gone 1006",
  ]);
  const aborted = recorded();
  aborted.life.lose("file_limit");
  assert.deepEqual(aborted.effects, [
    "told file_limit 1006",
    "ended file_limit 1006",
  ]);
});

Deno.test("lifecycle: lost while closing: it ends with what the owner was told", () => {
  const { life, effects } = recorded();
  life.close(READ_TIMEOUT, { awaitEcho: true, deadline: 2000 });
  life.lose("client_gone");
  assert.deepEqual(life.phase, { name: "closed", info: READ_TIMEOUT });
  assert.deepEqual(effects, [
    "told read_timeout 1001",
    "ended read_timeout 1001",
  ]);
});
