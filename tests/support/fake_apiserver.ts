/**
 * A scripted Kubernetes API server for what a real one cannot be made to
 * do on demand (answer with garbage, without end, with the same continue
 * token forever...), over HTTP or HTTPS (a CA of its own), with every
 * request it got recorded; and the kubeconfig a user would have for it.
 */
import { dump } from "js-yaml";
import { createCa, servingCertificate } from "./certs.ts";
import { oneContextKubeconfig } from "./kube_client.ts";

/** One request as the fake API server saw it. */
export interface SeenRequest {
  /** Path and query. */
  url: URL;
  /** The Authorization header, if any. */
  authorization: string | null;
}

/** A running fake API server. */
export interface FakeApiserver extends AsyncDisposable {
  /** `http://127.0.0.1:PORT` or `https://127.0.0.1:PORT`. */
  server: string;
  /** The CA of its certificate (HTTPS), PEM. */
  ca?: string;
  /** Every request so far. */
  seen: SeenRequest[];
  /** A temporary directory for kubeconfigs and plugins. */
  dir: string;
  /**
   * Writes a kubeconfig (YAML) in `dir` with one context `fake`, whose
   * cluster is this server (with `cluster` added) and whose user is `user`.
   */
  kubeconfig(
    user: Record<string, unknown>,
    cluster?: Record<string, unknown>,
  ): Promise<string>;
  /** Writes an executable `sh` script `name` in `dir`; returns its path. */
  plugin(name: string, script: string): Promise<string>;
}

/** One ApplicationPersona as the API server lists it. */
export function apiPersona(name: string, namespace = "ns"): unknown {
  return {
    apiVersion: "dorgu.io/v1",
    kind: "ApplicationPersona",
    metadata: { name, namespace, uid: `uid-${name}`, resourceVersion: "5" },
    spec: { name, type: "api", tier: "critical" },
    status: { phase: "Active", health: { status: "Healthy" } },
  };
}

/** A list answer with `items` and, if given, a continue token. */
export function apiList(items: unknown[], next?: string): Response {
  return Response.json({
    kind: "List",
    metadata: { resourceVersion: "10", continue: next },
    items,
  });
}

/** A Status answer. */
export function apiStatus(
  code: number,
  reason: string,
  message: string,
  headers: HeadersInit = {},
): Response {
  return Response.json(
    { kind: "Status", status: "Failure", code, reason, message },
    { status: code, headers },
  );
}

/** Serves `answer` on 127.0.0.1, over HTTPS with `tls`. */
export async function serveFakeApi(
  answer: (url: URL, request: Request) => Response | Promise<Response>,
  options: { tls?: boolean } = {},
): Promise<FakeApiserver> {
  const dir = await Deno.makeTempDir({ prefix: "dorgu-ws-fake-api-" });
  const seen: SeenRequest[] = [];
  let tls: { cert: string; key: string } | undefined;
  let ca: string | undefined;
  if (options.tls) {
    const authority = await createCa(dir, "fake-ca");
    const { cert, key } = await servingCertificate(authority, "fake-api");
    tls = { cert, key };
    ca = authority.cert;
  }
  const server = Deno.serve({
    hostname: "127.0.0.1",
    port: 0,
    onListen: () => {},
    ...tls,
  }, (request) => {
    const url = new URL(request.url);
    seen.push({ url, authorization: request.headers.get("authorization") });
    return answer(url, request);
  });
  const base = `${tls ? "https" : "http"}://127.0.0.1:${server.addr.port}`;
  let written = 0;
  return {
    server: base,
    ca,
    seen,
    dir,
    async kubeconfig(user, cluster = {}) {
      const path = `${dir}/kubeconfig-${++written}.yaml`;
      await Deno.writeTextFile(
        path,
        dump(oneContextKubeconfig({
          cluster: {
            server: base,
            ...(ca ? { "certificate-authority-data": btoa(ca) } : {}),
            ...cluster,
          },
          user,
        }, { context: "fake", user: "me" })),
      );
      return path;
    },
    async plugin(name, script) {
      const path = `${dir}/${name}`;
      await Deno.writeTextFile(path, `#!/bin/sh\n${script}\n`);
      await Deno.chmod(path, 0o755);
      return path;
    },
    async [Symbol.asyncDispose]() {
      // A request some test left unanswered must not hold the shutdown.
      await Promise.race([
        server.shutdown(),
        new Promise((resolve) => setTimeout(resolve, 500)),
      ]);
      await Deno.remove(dir, { recursive: true });
    },
  };
}
