/**
 * What `get -o name` prints, `get` takes back, as in kubectl: objects as
 * RESOURCE/NAME (`applicationpersona.dorgu.io/order-service`, `ap/x`) and
 * resources with their API group (`deployments.apps`); mixing the two forms,
 * or two resources in one command, is a usage error that says so. Run as
 * the binary runs, against a server on a copy of the example cluster.
 */
import assert from "node:assert/strict";
import { runCli, spawnExample } from "./support/server.ts";

const unsanitized = { sanitizeOps: false, sanitizeResources: false };

Deno.test({
  name:
    "get takes back what -o name prints: RESOURCE/NAME arguments and group-qualified resources",
  ...unsanitized,
  async fn() {
    await using demo = await spawnExample();
    const get = (...args: string[]) =>
      runCli(["get", ...args, "--url", demo.url]);
    const names = await get("ap", "-n", "production", "-o", "name");
    assert.equal(names.code, 0, names.stderr);
    const printed = names.stdout.trim().split("\n");
    assert.equal(printed[0], "applicationpersona.dorgu.io/invoice-worker");
    const plain = await get("ap", "-n", "production");
    const back = await get(...printed, "-n", "production");
    assert.equal(back.code, 0, back.stderr);
    assert.equal(back.stdout, plain.stdout);
    assert.match(plain.stdout, /payment-gateway/);

    const one = await get("ap/order-service", "-n", "production", "-o", "name");
    assert.equal(one.stdout, "applicationpersona.dorgu.io/order-service\n");
    const deployments = await get("deploy", "-A");
    for (const qualified of ["deployments.apps", "deployment.apps"]) {
      const result = await get(qualified, "-A");
      assert.equal(result.code, 0, result.stderr);
      assert.equal(result.stdout, deployments.stdout);
    }
    const cluster = await get("clusterpersonas.dorgu.io", "-o", "name");
    assert.equal(cluster.stdout, "clusterpersona.dorgu.io/eu-west-prod\n");

    const refused: [string[], string][] = [
      [
        ["ap/order-service", "deploy/order-service"],
        "'deploy/order-service' is not a personas object; one command takes one resource.",
      ],
      [
        ["ap/order-service", "storefront"],
        "'storefront' is not RESOURCE/NAME; once one object is given as RESOURCE/NAME, all must be.",
      ],
      [
        ["ap", "order-service", "ap/storefront"],
        "'ap/storefront': pass a RESOURCE and then NAMEs, or every object as RESOURCE/NAME, not both.",
      ],
      [["ap/"], "'ap/' is not RESOURCE/NAME."],
      [
        ["personas.apps"],
        "Cannot get 'personas.apps'. Choose personas (ap), cluster (cp), deployments (deploy), events (ev).",
      ],
    ];
    for (const [args, message] of refused) {
      const result = await get(...args);
      assert.equal(result.code, 2, args.join(" "));
      assert.equal(result.stderr.split("\n")[0], `dorgu-ws: ${message}`);
    }
  },
});
