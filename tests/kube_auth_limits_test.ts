/**
 * What anyone can make `--auth kubernetes` do by sending tokens: each
 * unknown token costs the API server a TokenReview, so reviews under way
 * and remembered answers are bounded.
 */
import assert from "node:assert/strict";
import type { KubeClient } from "../src/kube/mod.ts";
import { createLogger } from "../src/log.ts";
import { KubernetesAuthenticator } from "../src/server/kube_auth.ts";

/**
 * An API that refuses every token, counting reviews: after `delayMs`, or,
 * with `gate`, once the gate opens.
 */
function fakeApi(delayMs: number, gate?: Promise<void>) {
  const api = { reviews: 0, inFlight: 0, peak: 0 };
  const client = {
    async json() {
      api.reviews++;
      api.inFlight++;
      api.peak = Math.max(api.peak, api.inFlight);
      await (gate ?? new Promise((resolve) => setTimeout(resolve, delayMs)));
      api.inFlight--;
      return { status: { authenticated: false } };
    },
  } as unknown as KubeClient;
  return { api, client };
}

const quiet = createLogger({ write: () => {} });
const request = (token: string) =>
  new Request("http://127.0.0.1/ws", {
    headers: { authorization: `Bearer ${token}` },
  });

Deno.test("token reviews under way are bounded; past the bound clients get 503", async () => {
  // Reviews end only once every other token has had its answer: each
  // token is hashed first (asynchronously), so reviews that ended on a
  // timer could free places for tokens hashed late on a loaded machine.
  const gate = Promise.withResolvers<void>();
  const { api, client } = fakeApi(0, gate.promise);
  const auth = new KubernetesAuthenticator(client, {
    log: quiet,
    maxReviews: 8,
  });
  let answered = 0;
  const pending = Array.from(
    { length: 30 },
    (_, i) => auth.authenticate(request(`t${i}`)).finally(() => answered++),
  );
  for (let i = 0; i < 500 && answered < 22; i++) {
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  gate.resolve();
  const outcomes = await Promise.all(pending);
  assert.equal(api.peak, 8);
  assert.equal(api.reviews, 8);
  const statuses = outcomes.map((o) => "refused" in o ? o.status ?? 401 : 200);
  assert.equal(statuses.filter((s) => s === 401).length, 8);
  assert.equal(statuses.filter((s) => s === 503).length, 22);
  // Once they are done, new tokens are reviewed again.
  await auth.authenticate(request("later"));
  assert.equal(api.reviews, 9);
});

Deno.test("remembered answers are bounded: the oldest are forgotten first", async () => {
  const { api, client } = fakeApi(0);
  const auth = new KubernetesAuthenticator(client, {
    log: quiet,
    cacheSize: 100,
  });
  for (let i = 0; i < 300; i++) await auth.authenticate(request(`t${i}`));
  assert.equal(api.reviews, 300);
  await auth.authenticate(request("t299"));
  assert.equal(api.reviews, 300, "a recent answer is reused");
  await auth.authenticate(request("t0"));
  assert.equal(api.reviews, 301, "an old one was forgotten");
});

Deno.test("an expired answer is reviewed again", async () => {
  const { api, client } = fakeApi(0);
  const auth = new KubernetesAuthenticator(client, { log: quiet, cacheMs: 20 });
  await auth.authenticate(request("t"));
  await auth.authenticate(request("t"));
  assert.equal(api.reviews, 1);
  await new Promise((resolve) => setTimeout(resolve, 40));
  await auth.authenticate(request("t"));
  assert.equal(api.reviews, 2);
});
