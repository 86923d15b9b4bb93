/**
 * The in-process server of laptop mode: `get` and `watch` with
 * `--context`/`--kubeconfig` read the cluster with the user's own
 * credentials through the code `serve` runs (the informers and lists of
 * `kube/`, the store and derivations of `sources/`, the hub, the server's
 * inbound handling and answers) and talk to it over an in-memory channel
 * with the very messages they send a remote server. Nothing listens on a
 * port, and the output is the server's by construction.
 *
 * It reads only what the command needs (see plan.ts): `get` lists once,
 * `watch` and `get -w` list once and then watch from that listing, with
 * the informer's relist and diff after any blip.
 *
 * @module
 */
import { DEFAULT_HISTORY_SIZE, Hub, Session } from "../hub/mod.ts";
import type { Informer } from "../kube/informer.ts";
import type { Logger } from "../log.ts";
import type { Topic } from "../protocol/mod.ts";
import { type Client, Inbound } from "../server/inbound.ts";
import { TokenBucket } from "../server/rate_limiter.ts";
import { NamespaceScope } from "../server/scope.ts";
import type { EventSink } from "../sources/sink.ts";
import { createState } from "../sources/state.ts";
import type { Channel } from "../client/channel.ts";
import { type ChannelEnds, openChannel } from "./channel.ts";
import { type ClusterChoice, connectCluster } from "./connect.ts";
import { noticeLogger } from "./notices.ts";
import { readingsFor, storeOptionsFor } from "./plan.ts";
import { readOnce } from "./read.ts";

export type { ClusterChoice } from "./connect.ts";
export { LocalError } from "./errors.ts";

/** Options for {@link startLocal}. */
export interface LocalOptions {
  /** The cluster. */
  cluster: ClusterChoice;
  /** The topic the command lists or follows. */
  topic: Topic;
  /** One namespace, or all. */
  namespace?: string;
  /** Names asked for; empty for all. */
  names: readonly string[];
  /** Keep following after the listing (`watch`, `get -w`). */
  follow: boolean;
  /** How long each request to the API server may take, ms. */
  timeoutMs: number;
  /** A line for the user (API server trouble while following). */
  notice: (text: string) => void;
  /** Ends the start-up. */
  signal?: AbortSignal;
  /** The log; default {@link noticeLogger} over `notice`. */
  log?: Logger;
}

/** The running in-process server. */
export interface LocalServer {
  /** What it reads, for messages: `context NAME (user USER)`. */
  readonly label: string;
  /** Opens a connection to it. */
  dial(): Promise<Channel>;
  /** Closes every connection (1001) and stops reading the cluster. */
  stop(): Promise<void>;
}

/**
 * Reads what the command needs from the cluster and serves it in-process.
 * Throws a {@link LocalError} with one line when the credentials, the
 * RBAC, the CRDs or the API server are not there.
 */
export async function startLocal(options: LocalOptions): Promise<LocalServer> {
  const log = options.log ?? noticeLogger(options.notice);
  const readings = readingsFor(options);
  const hub = new Hub({ historySize: DEFAULT_HISTORY_SIZE });
  // Only the command's topic is ever asked for: events derived for the
  // others (a persona's validation result, when listing personas) would
  // be serialized for nobody.
  const sink: EventSink = {
    publish(topic, payload, keys) {
      if (topic === options.topic) hub.publish(topic, payload, keys);
    },
  };
  const { store, queries } = createState(sink, {
    log,
    ...storeOptionsFor(readings),
  });
  const { client, where } = await connectCluster(options.cluster, {
    timeoutMs: options.timeoutMs,
  });
  let informers: Informer[] = [];
  try {
    const versions = await readOnce(store, readings, {
      client,
      where,
      timeoutMs: options.timeoutMs,
      signal: options.signal,
    });
    if (options.follow) {
      // `get` without -w never watches: the informer's modules stay out.
      const { informerFor } = await import("../sources/kubernetes.ts");
      informers = readings.map((reading, i) =>
        informerFor(store, {
          client,
          ...reading,
          fieldSelector: reading.name && `metadata.name=${reading.name}`,
          resourceVersion: versions[i],
          log,
        })
      );
      for (const informer of informers) informer.start();
    }
  } catch (error) {
    client.close();
    throw error;
  }
  return serveInProcess(hub, new Inbound(hub, { queries, log }), {
    label: where.describe,
    stop: async () => {
      await Promise.all(informers.map((informer) => informer.stop()));
      client.close();
    },
  });
}

function serveInProcess(
  hub: Hub,
  inbound: Inbound,
  options: { label: string; stop: () => Promise<void> },
): LocalServer {
  const open = new Set<ChannelEnds>();
  return {
    label: options.label,
    dial() {
      const scope = NamespaceScope.ALL;
      // Both callbacks run only once the channel is in use.
      const ends = openChannel((text) => inbound.text(client, text), () => {
        hub.detach(client.session);
        open.delete(ends);
      });
      const client: Client = {
        session: new Session(ends.socket, { scope }),
        scope,
        // The user is the only client: its own requests are not limited.
        bucket: new TokenBucket({ rate: 0, burst: Number.MAX_SAFE_INTEGER }, 0),
      };
      hub.attach(client.session);
      open.add(ends);
      return Promise.resolve(ends.channel);
    },
    async stop() {
      for (const ends of [...open]) {
        ends.close(1001, "The in-process server stopped.");
      }
      await options.stop();
    },
  };
}
