/**
 * A list/watch informer for one resource path, as dependable as client-go's
 * reflector: a paginated LIST, then a WATCH from its resourceVersion with
 * bookmarks and a randomized timeout; `410 Gone` (as an HTTP status or an
 * ERROR event) means relist; everything else means re-watch from the last
 * resource version seen, after a backoff with jitter that starts over as
 * soon as the API server has proven healthy again. Every listing goes to
 * the target as a whole, so it can diff it against what it had.
 *
 * @module
 */
import { createLogger, type Logger } from "../log.ts";
import { delay } from "../retry.ts";
import {
  AnswerError,
  ApiError,
  type KubeClient,
  unreachableReason,
} from "./client.ts";
import { isGone, listCollection, seconds } from "./list.ts";
import { RetryPolicy } from "./retry_policy.ts";
import { readWatchEvents, WatchDecodeError, type WatchEvent } from "./watch.ts";

/** Where an informer delivers what it sees. */
export interface InformerTarget {
  /** Starts a full listing; its commit replaces what was listed before. */
  resync(): { add(object: unknown): void; commit(): void };
  /** An object was added or modified. */
  upsert(object: unknown): void;
  /** An object was deleted. */
  remove(object: unknown): void;
  /** Why the resource cannot be read, or undefined once it can. */
  problem(message: string | undefined): void;
}

/** Counters for `/metrics`. */
export interface InformerStats {
  /** Watches that ended (timeout, error) and were started again. */
  restarts: number;
  /** Listings after the first. */
  relists: number;
  /** Watch lines that were not watch events. */
  decodeErrors: number;
}

/** Options for {@link Informer}. */
export interface InformerOptions {
  /** The API client. */
  client: KubeClient;
  /** Collection path, e.g. `/apis/apps/v1/namespaces/prod/deployments`. */
  path: string;
  /** What the resource is, for messages: `deployments.apps in namespace prod`. */
  label: string;
  /** Receives objects. */
  target: InformerTarget;
  /** Structured log. */
  log?: Logger;
  /** Items per LIST page. Default 500. */
  pageSize?: number;
  /** Lists and watches only the objects this selects (`metadata.name=web`). */
  fieldSelector?: string;
  /**
   * Where the first watch starts, when the caller has already listed the
   * collection into the target at this version; without it the informer
   * lists first.
   */
  resourceVersion?: string;
  /** Watch timeout range in seconds; each watch picks one. Default 300-600. */
  watchSeconds?: [number, number];
  /**
   * A watch (or list) that receives nothing for this long is abandoned and
   * started again on a new connection. Default 150 s: about two and a half
   * of the API server's bookmark intervals.
   */
  stallMs?: number;
  /**
   * First and largest delay between retries in ms, before jitter. Default
   * 500 and 30000. Young outages retry sooner: see `OUTAGE_CAPS`.
   */
  backoffMs?: [number, number];
  /**
   * A watch held open this long has proven the API server healthy, and
   * the backoff starts over, even if it delivered nothing. Default 10 s.
   */
  healthyWatchMs?: number;
}

/** How long a watch may stay silent by default: see {@link InformerOptions}. */
export const STALL_MS = 150_000;

// A watch the API server accepted and kept open this long has proven the
// connection healthy even on a resource so quiet that it gets no bookmarks
// (they come only when the resource version moved).
const HEALTHY_WATCH_MS = 10_000;

class GoneError extends Error {}

// A watch that was answered and then went silent for the stall interval:
// either the connection is dead or the resource is quiet and the server
// had no bookmark to send. Watching again settles which, without calling
// it a failure.
class SilentWatchError extends Error {}

/** Lists and watches one collection until stopped. */
export class Informer {
  /** Counters for `/metrics`. */
  readonly stats: InformerStats = { restarts: 0, relists: 0, decodeErrors: 0 };
  #options: InformerOptions;
  #log: Logger;
  #stopped = false;
  #abort = new AbortController();
  #running: Promise<void> | undefined;
  #problem: string | undefined;
  // Where the next watch starts; undefined means list first.
  #version: string | undefined;
  #retry: RetryPolicy;

  /** Creates an informer; call {@link Informer.start}. */
  constructor(options: InformerOptions) {
    this.#options = options;
    this.#log = (options.log ?? createLogger()).with({
      resource: options.label,
    });
    this.#retry = new RetryPolicy({
      backoffMs: options.backoffMs ?? [500, 30_000],
    });
    this.#version = options.resourceVersion || undefined;
  }

  /** Starts listing and watching in the background. */
  start(): void {
    this.#running ??= this.#run();
  }

  /** Stops, aborting any request under way. Resolves when the loop has ended. */
  async stop(): Promise<void> {
    this.#stopped = true;
    this.#abort.abort();
    await this.#running;
  }

  async #run(): Promise<void> {
    let listed = this.#version !== undefined;
    // The version the last listing gave, and whether its watch was Gone
    // before a single event (see below).
    let listedAt = this.#version;
    let goneAtOnce = false;
    while (!this.#stopped) {
      try {
        if (this.#version === undefined) {
          this.#version = await this.#list();
          listedAt = this.#version;
          if (listed) this.stats.relists++;
          listed = true;
          if (!goneAtOnce) this.#retry.reset();
          this.#recovered();
        }
        const started = Date.now();
        const delivered = await this.#watch();
        this.stats.restarts++;
        // A watch that ends at once with nothing in it (a proxy cutting
        // long requests, say) must not turn into a tight reconnect loop.
        if (!delivered && Date.now() - started < 1000) {
          await delay(this.#retry.next(), this.#abort.signal);
          continue;
        }
        // Otherwise the server ended it, normally at its timeout.
        this.#retry.reset();
      } catch (error) {
        if (this.#stopped) break;
        if (error instanceof GoneError || isGone(error)) {
          this.#log.info("The watch's resource version expired; relisting");
          // Gone at the version its own listing just gave: the API server
          // keeps refusing it (API servers behind a load balancer whose
          // watch caches lag, or a hostile one). Relisting at once would
          // loop as fast as the network goes; the waits grow until a
          // watch delivers.
          goneAtOnce = this.#version === listedAt;
          this.#version = undefined;
          if (goneAtOnce) await delay(this.#retry.next(), this.#abort.signal);
          continue;
        }
        this.stats.restarts++;
        if (error instanceof SilentWatchError) {
          this.#log.info(error.message);
          this.#options.client.reconnect();
          continue;
        }
        this.#failed(error as Error);
        await delay(this.#retry.next(error), this.#abort.signal);
      }
    }
  }

  // Lists every page and hands the whole listing to the target. Returns the
  // listing's resourceVersion, where the watch starts.
  #list(): Promise<string> {
    return listCollection(this.#options.client, this.#options.path, {
      begin: () => this.#options.target.resync(),
      pageSize: this.#options.pageSize,
      fieldSelector: this.#options.fieldSelector,
      signal: this.#abort.signal,
      pageTimeoutMs: this.#options.stallMs ?? STALL_MS,
    });
  }

  // Watches from the last version seen until the server ends the watch;
  // true when it delivered anything. The version advances with every
  // event, so whatever ends the watch, the next one resumes right after
  // the last event applied.
  async #watch(): Promise<boolean> {
    const stallMs = this.#options.stallMs ?? STALL_MS;
    const stall = new AbortController();
    const signal = AbortSignal.any([this.#abort.signal, stall.signal]);
    let timer = setTimeout(() => stall.abort(), stallMs);
    const alive = () => {
      clearTimeout(timer);
      timer = setTimeout(() => stall.abort(), stallMs);
    };
    let proven: ReturnType<typeof setTimeout> | undefined;
    let answered = false;
    let delivered = false;
    try {
      const response = await this.#options.client.request(
        `${this.#options.path}?${this.#watchQuery()}`,
        { signal },
      );
      answered = true;
      this.#recovered();
      proven = setTimeout(
        () => this.#retry.reset(),
        this.#options.healthyWatchMs ?? HEALTHY_WATCH_MS,
      );
      const body = (response.body ?? new ReadableStream()).pipeThrough(
        new TransformStream<Uint8Array, Uint8Array>({
          transform(chunk, controller) {
            alive();
            controller.enqueue(chunk);
          },
        }),
      );
      for await (const event of readWatchEvents(body)) {
        this.#apply(event.type, event.object as WatchedObject);
        if (!delivered) {
          delivered = true;
          this.#retry.reset();
        }
      }
      return delivered;
    } catch (error) {
      if (stall.signal.aborted && !this.#abort.signal.aborted) {
        if (answered) {
          throw new SilentWatchError(
            `The watch sent nothing for ${
              seconds(stallMs)
            } s; watching again on a new connection`,
          );
        }
        this.#options.client.reconnect();
        throw new Error(
          `no answer to a watch within ${seconds(stallMs)} s`,
        );
      }
      throw error;
    } finally {
      clearTimeout(timer);
      clearTimeout(proven);
    }
  }

  // A randomized timeout spreads the watches of many servers restarted
  // together, as client-go's reflector does.
  #watchQuery(): URLSearchParams {
    const [min, max] = this.#options.watchSeconds ?? [300, 600];
    const timeoutSeconds = Math.floor(min + Math.random() * (max - min));
    const query = new URLSearchParams({
      watch: "1",
      allowWatchBookmarks: "true",
      resourceVersion: this.#version ?? "",
      timeoutSeconds: String(timeoutSeconds),
    });
    const fieldSelector = this.#options.fieldSelector;
    if (fieldSelector) query.set("fieldSelector", fieldSelector);
    return query;
  }

  // Hands one watch event to the target. The version moves only once the
  // target has the event, so the next watch resumes right after it.
  #apply(type: WatchEvent["type"], object: WatchedObject): void {
    switch (type) {
      case "ADDED":
      case "MODIFIED":
        this.#options.target.upsert(object);
        break;
      case "DELETED":
        this.#options.target.remove(object);
        break;
      case "BOOKMARK":
        break;
      case "ERROR":
        if (object.code === 410) throw new GoneError();
        throw new ApiError(
          String(object.message ?? "The watch reported an error."),
          {
            status: Number(object.code) || 500,
            reason: String(object.reason ?? "Error"),
          },
        );
    }
    this.#version = object.metadata?.resourceVersion || this.#version;
  }

  #failed(error: Error): void {
    let problem: string;
    if (error instanceof WatchDecodeError) {
      this.stats.decodeErrors++;
      problem = `${error.message}; watching again from the last good version`;
    } else if (error instanceof AnswerError) {
      problem = `the API server ${error.message}`;
    } else if (error instanceof ApiError && error.status === 404) {
      problem =
        `the API server does not serve ${this.#options.label} (is its CRD installed?): ${error.message}`;
    } else if (error instanceof ApiError && error.status === 403) {
      problem =
        `permission denied: ${error.message}. Grant get, list and watch on it.`;
    } else if (error instanceof ApiError && error.status === 401) {
      problem = `the API server rejected the credentials: ${error.message}`;
    } else if (
      error instanceof ApiError &&
      (error.status === 429 || error.status === 503)
    ) {
      problem = `the API server asked to retry later: ${error.message}`;
    } else {
      problem = `cannot reach the API server: ${unreachableReason(error)}`;
    }
    this.#options.target.problem(problem);
    if (problem !== this.#problem) {
      this.#log.warn(`Cannot read ${this.#options.label}; retrying`, {
        reason: problem,
      });
    } else {
      this.#log.debug(`Still cannot read ${this.#options.label}`, {
        reason: problem,
      });
    }
    this.#problem = problem;
  }

  #recovered(): void {
    if (this.#problem === undefined) return;
    this.#log.info(`Reading ${this.#options.label} again`, { recovered: true });
    this.#problem = undefined;
    this.#options.target.problem(undefined);
  }
}

interface WatchedObject {
  metadata?: { resourceVersion?: string };
  code?: number;
  reason?: string;
  message?: string;
}
