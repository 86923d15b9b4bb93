/**
 * `--auth kubernetes` against a real kube-apiserver: tokens reviewed with
 * TokenReview, each user scoped with SubjectAccessReviews to the
 * namespaces in which it may list ApplicationPersonas.
 */
import assert from "node:assert/strict";
import {
  LEAST_RULES,
  patchStatus,
  persona,
} from "./support/cluster_objects.ts";
import { Envtest } from "./support/envtest.ts";
import { RawSocket } from "./support/raw_ws.ts";
import {
  type ServerProcess,
  spawnServer,
  waitReady,
} from "./support/server.ts";
import { TestClient } from "./support/ws_client.ts";

const unsanitized = { sanitizeOps: false, sanitizeResources: false };
let env: Envtest;
let server: ServerProcess;

async function bindRole(
  kind: "ClusterRole" | "Role",
  name: string,
  account: string,
  namespace?: string,
): Promise<void> {
  const binding = kind === "ClusterRole" ? "ClusterRoleBinding" : "RoleBinding";
  const metadata = namespace ? { name, namespace } : { name };
  await env.apply([
    {
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind,
      metadata,
      rules: [{
        apiGroups: ["dorgu.io"],
        resources: ["applicationpersonas"],
        verbs: ["get", "list", "watch"],
      }],
    },
    {
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: binding,
      metadata,
      roleRef: { apiGroup: "rbac.authorization.k8s.io", kind, name },
      subjects: [{ kind: "ServiceAccount", namespace: "users", name: account }],
    },
  ]);
}

Deno.test({
  name: "a token the cluster vouches for connects; others get 401",
  ...unsanitized,
  async fn() {
    env = await Envtest.start();
    await env.installCrds();
    for (const ns of ["prod", "staging", "users"]) {
      await env.ensureNamespace(ns);
    }
    await env.apply([
      persona("prod", "checkout"),
      persona("staging", "search"),
    ]);
    server = await spawnServer([
      "--kubeconfig",
      env.kubeconfig,
      "--auth",
      "kubernetes",
    ]);
    await waitReady(`http://127.0.0.1:${server.port}`);
    const status = (headers: Record<string, string>) =>
      RawSocket.upgradeStatus(server.port, headers);
    assert.equal(await status({}), 401);
    assert.equal(
      await status({ authorization: "Bearer not-a-real-token" }),
      401,
    );
    const { token } = await env.serviceAccount("users", "nobody");
    assert.equal(await status({ authorization: `Bearer ${token}` }), 101);
  },
});

Deno.test({
  name: "a user who may list personas cluster-wide sees every namespace",
  ...unsanitized,
  async fn() {
    const { token } = await env.serviceAccount("users", "alice");
    await bindRole("ClusterRole", "persona-reader", "alice");
    const client = await TestClient.connect(
      `ws://127.0.0.1:${server.port}/ws`,
      {
        headers: { authorization: `Bearer ${token}` },
      },
    );
    const listed = await client.call("request", "personas");
    assert.deepEqual(
      (listed.payload?.personas as { namespace: string }[]).map((p) =>
        p.namespace
      ),
      ["prod", "staging"],
    );
    await client.close();
  },
});

Deno.test({
  name: "a user with a Role in one namespace sees only that namespace",
  ...unsanitized,
  async fn() {
    const { token } = await env.serviceAccount("users", "bob");
    await bindRole("Role", "persona-reader", "bob", "staging");
    const client = await TestClient.connect(
      `ws://127.0.0.1:${server.port}/ws`,
      {
        headers: { authorization: `Bearer ${token}` },
      },
    );
    const listed = await client.call("request", "personas");
    assert.deepEqual(
      (listed.payload?.personas as { name: string }[]).map((p) => p.name),
      ["search"],
    );
    const forbidden = await client.call("request", "personas", {
      namespace: "prod",
    });
    assert.equal(forbidden.payload?.code, "forbidden");
    await client.call("subscribe", "personas");
    await patchStatus(
      env.primary,
      "/apis/dorgu.io/v1/namespaces/prod/applicationpersonas/checkout",
      {
        phase: "Failed",
      },
    );
    await patchStatus(
      env.primary,
      "/apis/dorgu.io/v1/namespaces/staging/applicationpersonas/search",
      {
        phase: "Active",
      },
    );
    const [event] = await client.waitForCount(
      (m) => m.type === "event",
      1,
      "the staging event",
    );
    assert.equal(event.payload?.name, "search");
    assert.deepEqual(
      client.events("personas").map((e) => e.payload?.namespace),
      ["staging"],
    );
    await client.close();
  },
});

Deno.test({
  name: "a server not allowed to review tokens says so and refuses with 503",
  ...unsanitized,
  async fn() {
    await server.stop();
    const limited = await env.serviceAccount("users", "cannot-review");
    await env.apply([
      {
        apiVersion: "rbac.authorization.k8s.io/v1",
        kind: "ClusterRole",
        metadata: { name: "reader-only" },
        rules: LEAST_RULES,
      },
      {
        apiVersion: "rbac.authorization.k8s.io/v1",
        kind: "ClusterRoleBinding",
        metadata: { name: "reader-only" },
        roleRef: {
          apiGroup: "rbac.authorization.k8s.io",
          kind: "ClusterRole",
          name: "reader-only",
        },
        subjects: [{
          kind: "ServiceAccount",
          namespace: "users",
          name: "cannot-review",
        }],
      },
    ]);
    server = await spawnServer([
      "--kubeconfig",
      limited.kubeconfig,
      "--auth",
      "kubernetes",
    ]);
    const { token } = await env.serviceAccount("users", "alice");
    assert.equal(
      await RawSocket.upgradeStatus(server.port, {
        authorization: `Bearer ${token}`,
      }),
      503,
    );
    const warning = await server.waitForLog((l) => l.level === "warn");
    assert.match(
      String(warning.msg),
      /needs create on tokenreviews and subjectaccessreviews/,
    );
    assert.match(String(warning.error), /tokenreviews.* is forbidden/);
  },
});

Deno.test({
  name: "stop the control plane",
  ...unsanitized,
  async fn() {
    await server?.stop();
    await env?.stop();
  },
});
