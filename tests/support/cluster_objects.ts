/**
 * Kubernetes objects for the envtest suites, and a client-side view that
 * rebuilds the cluster from a list plus events and refuses any event that
 * would be lost or doubled.
 */
import assert from "node:assert/strict";
import type { Apiserver } from "./envtest.ts";
import type { Message } from "./ws_client.ts";

/**
 * The least RBAC rules dorgu-ws needs: get, list and watch on the four
 * resources it follows, and nothing else.
 */
export const LEAST_RULES = [
  {
    apiGroups: ["dorgu.io"],
    resources: ["applicationpersonas", "clusterpersonas"],
    verbs: ["get", "list", "watch"],
  },
  {
    apiGroups: ["apps"],
    resources: ["deployments"],
    verbs: ["get", "list", "watch"],
  },
  { apiGroups: [""], resources: ["events"], verbs: ["get", "list", "watch"] },
];

/** An ApplicationPersona manifest. */
export function persona(
  namespace: string,
  name: string,
  options: {
    status?: Record<string, unknown>;
    spec?: Record<string, unknown>;
  } = {},
): Record<string, unknown> {
  return {
    apiVersion: "dorgu.io/v1",
    kind: "ApplicationPersona",
    metadata: { name, namespace },
    spec: { name, type: "api", tier: "critical", ...options.spec },
    status: options.status ?? {},
  };
}

/** A ClusterPersona manifest. */
export function clusterPersona(
  name: string,
  status: Record<string, unknown>,
): Record<string, unknown> {
  return {
    apiVersion: "dorgu.io/v1",
    kind: "ClusterPersona",
    metadata: { name },
    spec: { name: `${name}-spec`, environment: "production" },
    status,
  };
}

/** A Deployment manifest. */
export function deployment(
  namespace: string,
  name: string,
  options: { replicas?: number } = {},
): Record<string, unknown> {
  const replicas = options.replicas ?? 3;
  return {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name, namespace },
    spec: {
      replicas,
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name } },
        spec: {
          containers: [{ name: "app", image: `ghcr.io/acme/${name}:1.0.0` }],
        },
      },
    },
  };
}

/** A core/v1 Event manifest. */
export function kubeEvent(
  namespace: string,
  name: string,
  options: { involved: string; reason: string },
): Record<string, unknown> {
  const { involved, reason } = options;
  const now = new Date().toISOString().replace(/\.\d+Z$/, "Z");
  return {
    apiVersion: "v1",
    kind: "Event",
    metadata: { name, namespace },
    involvedObject: { kind: "Pod", namespace, name: involved },
    type: "Warning",
    reason,
    message: `${reason} for ${involved}`,
    count: 1,
    firstTimestamp: now,
    lastTimestamp: now,
    source: { component: "kubelet" },
  };
}

/** Merge-patches an object's status subresource. */
export async function patchStatus(
  api: Apiserver,
  path: string,
  status: Record<string, unknown>,
): Promise<void> {
  await api.api("PATCH", `${path}/status`, { status });
}

type Row = Record<string, unknown>;

/**
 * What a client knows of one namespaced topic: rebuilt from a `request`
 * list and the events after its offset. Throws when an event is doubled
 * (created twice, deleted when absent, updated with nothing new).
 */
export class TopicView {
  readonly rows = new Map<string, Row>();
  #offset = 0;
  #fields: string[];

  /** `fields` are the payload fields compared for "nothing new". */
  constructor(fields: string[]) {
    this.#fields = fields;
  }

  /** Starts from a list response. */
  list(response: Message, key: string): void {
    this.rows.clear();
    for (const row of response.payload?.[key] as Row[]) {
      this.rows.set(`${row.namespace}/${row.name}`, this.#pick(row));
    }
    this.#offset = response.offset as number;
  }

  /** Applies an event (ignoring those the list already included). */
  apply(event: Message): void {
    if ((event.offset as number) <= this.#offset) return;
    assert.equal(event.offset, this.#offset + 1, "an event was skipped");
    this.#offset = event.offset as number;
    const payload = event.payload as Row;
    const key = `${payload.namespace}/${payload.name}`;
    const known = this.rows.get(key);
    const next = this.#pick(payload);
    switch (payload.eventType) {
      case "created":
        assert.equal(known, undefined, `created twice: ${key}`);
        this.rows.set(key, next);
        break;
      case "deleted":
        assert.notEqual(known, undefined, `deleted but unknown: ${key}`);
        this.rows.delete(key);
        break;
      case "updated":
        assert.notEqual(known, undefined, `updated but unknown: ${key}`);
        assert.notDeepEqual(known, next, `an update with nothing new: ${key}`);
        this.rows.set(key, next);
        break;
    }
  }

  /** The rows, sorted, for comparison. */
  snapshot(): Record<string, Row> {
    return Object.fromEntries(
      [...this.rows].sort(([a], [b]) => a < b ? -1 : 1),
    );
  }

  #pick(row: Row): Row {
    return Object.fromEntries(this.#fields.map((f) => [f, row[f]]));
  }
}

/** What the API says the personas are, in the view's shape. */
export async function apiPersonas(
  api: Apiserver,
): Promise<Record<string, Row>> {
  const list = await api.api("GET", "/apis/dorgu.io/v1/applicationpersonas");
  const rows: [string, Row][] =
    (list.items as Record<string, Record<string, never>>[])
      .map((item) => [
        `${item.metadata.namespace}/${item.metadata.name}`,
        {
          phase: (item.status as Row | undefined)?.phase ?? "",
          health: ((item.status as Row | undefined)?.health as Row | undefined)
            ?.status ?? "",
        },
      ]);
  return Object.fromEntries(rows.sort(([a], [b]) => a < b ? -1 : 1));
}
