/**
 * A scripted fake API server for the informer's tests, and an informer
 * wired to it through a real store and hub.
 *
 * @module
 */
import { Hub } from "../../src/hub/mod.ts";
import { Informer } from "../../src/kube/mod.ts";
import type { PersonaEvent } from "../../src/protocol/mod.ts";
import { createState, type Store } from "../../src/sources/mod.ts";
import { plainKubeClient } from "./kube_client.ts";
import { type CapturedLog, captureLog, delay } from "./server.ts";

/** One scripted answer of the fake API server to the request it got. */
export type Script = (url: URL) => Response | Promise<Response>;

/** Streams `parts` (strings or pauses in ms), then closes, hangs or resets. */
export function stream(
  parts: (string | number)[],
  end: "close" | "hang" | "reset" = "close",
): Response {
  const encoder = new TextEncoder();
  const body = new ReadableStream<Uint8Array>({
    async start(controller) {
      for (const part of parts) {
        if (typeof part === "number") await delay(part);
        else controller.enqueue(encoder.encode(part));
      }
      if (end === "close") controller.close();
      if (end === "reset") controller.error(new Error("reset"));
    },
  });
  return new Response(body, {
    headers: { "content-type": "application/json" },
  });
}

/** An ApplicationPersona as the API server sends it. */
export interface ApiPersona {
  /** `dorgu.io/v1`. */
  apiVersion: string;
  /** `ApplicationPersona`. */
  kind: string;
  /** Name, namespace, uid and resourceVersion. */
  metadata: Record<string, string>;
  /** The persona's spec. */
  spec: { name: string; type: string };
  /** The persona's status. */
  status: { phase: string; health: { status: string } };
}

/** An ApplicationPersona in namespace prod at resourceVersion `rv`. */
export function persona(
  name: string,
  rv: number,
  phase = "Active",
  uid = `uid-${name}`,
): ApiPersona {
  return {
    apiVersion: "dorgu.io/v1",
    kind: "ApplicationPersona",
    metadata: { name, namespace: "prod", uid, resourceVersion: String(rv) },
    spec: { name, type: "api" },
    status: { phase, health: { status: "Healthy" } },
  };
}

/** A list answer at resourceVersion `rv`, with a continue token `next`. */
export function list(items: unknown[], rv: number, next?: string): Response {
  return Response.json({
    kind: "ApplicationPersonaList",
    metadata: { resourceVersion: String(rv), continue: next },
    items,
  });
}

/** One watch event as the API server writes it: a JSON line. */
export function line(type: string, object: unknown): string {
  return JSON.stringify({ type, object }) + "\n";
}

/** A Kubernetes Status answer with HTTP status `code`. */
export function status(
  code: number,
  reason: string,
  message: string,
  headers: HeadersInit = {},
): Response {
  return Response.json({
    kind: "Status",
    status: "Failure",
    code,
    reason,
    message,
  }, {
    status: code,
    headers,
  });
}

/**
 * A fake API server that answers lists and watches from two queues of
 * scripts, in order; an unscripted watch stays open and idle.
 */
export class FakeApi {
  /** Answers to the next LIST requests. */
  readonly lists: Script[] = [];
  /** Answers to the next WATCH requests. */
  readonly watches: Script[] = [];
  /** Every request's URL, in order. */
  readonly seen: URL[] = [];
  /** When each request in `seen` arrived (performance.now()). */
  readonly times: number[] = [];
  readonly #server: Deno.HttpServer<Deno.NetAddr>;
  readonly #idle: AbortController = new AbortController();

  /** Starts listening on a loopback port. */
  constructor() {
    this.#server = Deno.serve({
      hostname: "127.0.0.1",
      port: 0,
      onListen: () => {},
    }, (req) => {
      const url = new URL(req.url);
      this.seen.push(url);
      this.times.push(performance.now());
      const queue = url.searchParams.has("watch") ? this.watches : this.lists;
      const script = queue.shift();
      if (script) return script(url);
      if (url.searchParams.has("watch")) {
        // Nothing scripted: an idle watch that stays open.
        return new Response(
          new ReadableStream({
            start: (controller) =>
              this.#idle.signal.addEventListener(
                "abort",
                () => controller.close(),
              ),
          }),
        );
      }
      return status(500, "InternalError", "no script");
    });
  }

  /** `http://127.0.0.1:PORT`. */
  get url(): string {
    return `http://127.0.0.1:${this.#server.addr.port}`;
  }

  /** The resourceVersion each watch asked for, in order. */
  watchVersions(): string[] {
    return this.seen.filter((u) => u.searchParams.has("watch")).map((u) =>
      u.searchParams.get("resourceVersion") ?? ""
    );
  }

  /** Milliseconds between one watch request and the next. */
  watchGaps(): number[] {
    const times = this.times.filter((_, i) =>
      this.seen[i].searchParams.has("watch")
    );
    return times.slice(1).map((at, i) => at - times[i]);
  }

  /** An answer that never comes (until the fake closes). */
  never(): Promise<Response> {
    return new Promise((resolve) =>
      this.#idle.signal.addEventListener(
        "abort",
        () => resolve(new Response(null, { status: 503 })),
      )
    );
  }

  /** Answers what hangs and stops listening. */
  async close(): Promise<void> {
    this.#idle.abort();
    await this.#server.shutdown();
  }
}

/** What {@link harness} returns. */
export interface Harness {
  /** The fake API server. */
  api: FakeApi;
  /** The hub the store publishes to. */
  hub: Hub;
  /** The store the informer feeds. */
  store: Store;
  /** The log the informer and the store write. */
  log: CapturedLog;
  /** The informer under test. */
  informer: Informer;
  /** What the hub published: `eventType name phase` per event. */
  events(): string[];
  /** Waits until `check` holds (5 s at most), naming `what` if not. */
  until(check: () => boolean, what: string): Promise<void>;
  /** Stops the informer, its client and the fake. */
  stop(): Promise<void>;
}

/**
 * An informer for ApplicationPersonas against a {@link FakeApi}, feeding a
 * real store and hub; `events()` lists what the hub published, `until`
 * waits for a condition (5 s at most), `stop` ends all of it.
 */
export function harness(
  options: {
    stallMs?: number;
    backoffMs?: [number, number];
    healthyWatchMs?: number;
  } = {},
): Harness {
  const api = new FakeApi();
  const hub = new Hub({ historySize: 100 });
  const log = captureLog();
  const { store } = createState(hub, {
    log: log.logger,
    resources: ["personas"],
  });
  const client = plainKubeClient(api.url);
  const informer = new Informer({
    client,
    path: "/apis/dorgu.io/v1/applicationpersonas",
    label: "applicationpersonas.dorgu.io/v1 in all namespaces",
    target: {
      resync: () => store.resync("personas"),
      upsert: (o) => store.upsert("personas", o),
      remove: (o) => store.remove("personas", o),
      problem: (m) => store.readiness.setProblem("personas", m),
    },
    log: log.logger,
    backoffMs: options.backoffMs ?? [10, 40],
    watchSeconds: [30, 31],
    stallMs: options.stallMs,
    healthyWatchMs: options.healthyWatchMs,
  });
  const events = () =>
    (hub.recent("personas", { limit: 100 }) as PersonaEvent[]).map((e) =>
      `${e.eventType} ${e.name} ${e.phase}`
    );
  const until = async (check: () => boolean, what: string) => {
    const deadline = Date.now() + 5000;
    while (!check()) {
      if (Date.now() > deadline) {
        throw new Error(
          `Timed out waiting for ${what}; events: ${events()}; seen: ${
            api.seen.join(" ")
          }`,
        );
      }
      await delay(10);
    }
  };
  const stop = async () => {
    await informer.stop();
    client.close();
    await api.close();
  };
  return { api, hub, store, log, informer, events, until, stop };
}
