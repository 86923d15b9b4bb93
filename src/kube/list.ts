/**
 * A paginated LIST of one collection, as client-go's pager reads one:
 * `limit`/`continue` pages, every page of a listing read at the first
 * page's resourceVersion, and a listing started over once when its
 * continue token expires (410) between pages. The informer lists this way
 * before each watch, and `get` straight from the cluster lists this way
 * once.
 *
 * @module
 */
import { AnswerError, ApiError, type KubeClient } from "./client.ts";

// Five million objects in pages of 500: past what etcd holds.
const MAX_PAGES = 10_000;

/** Where a listing's objects go: one call per object, then one commit. */
export interface ListingSink {
  /** One listed object. */
  add(object: unknown): void;
  /** The listing is complete. */
  commit(): void;
}

/** Options for {@link listCollection}. */
export interface ListOptions {
  /** Starts a listing (again, when it has to start over). */
  begin(): ListingSink;
  /** Items per page. Default 500, as kubectl and client-go ask. */
  pageSize?: number;
  /** `fieldSelector`, e.g. `metadata.name=web` for one object. */
  fieldSelector?: string;
  /** Ends the listing. */
  signal?: AbortSignal;
  /**
   * A page that does not arrive within this many ms fails the listing with
   * {@link ListTimeout}, and the client's connections are replaced (a dead
   * HTTP/2 connection would swallow the retry too).
   */
  pageTimeoutMs?: number;
}

/** A page of a listing did not arrive in time. */
export class ListTimeout extends Error {
  /** How long the page was waited for, in ms. */
  readonly waitedMs: number;

  /** Creates the error for a page waited on for `waitedMs`. */
  constructor(waitedMs: number) {
    super(`no answer to a list within ${seconds(waitedMs)} s`);
    this.name = "ListTimeout";
    this.waitedMs = waitedMs;
  }
}

interface ListPage {
  items?: unknown[];
  metadata?: { resourceVersion?: string; continue?: string };
}

/**
 * Lists every page of `path` into the sink {@link ListOptions.begin}
 * returns and commits it. Returns the listing's resourceVersion, where a
 * watch of the same collection starts.
 */
export async function listCollection(
  client: KubeClient,
  path: string,
  options: ListOptions,
): Promise<string> {
  let listing = options.begin();
  let resourceVersion = "";
  let next: string | undefined;
  let restarted = false;
  // A server that hands out a token again would be listed forever.
  const tokens = new Set<string>();
  while (true) {
    const query = new URLSearchParams({
      limit: String(options.pageSize ?? 500),
    });
    if (options.fieldSelector) {
      query.set("fieldSelector", options.fieldSelector);
    }
    if (next) query.set("continue", next);
    let page: ListPage;
    try {
      page = await readPage(client, `${path}?${query}`, options);
    } catch (error) {
      // A continue token can expire between pages; start over once.
      if (isGone(error) && next && !restarted) {
        restarted = true;
        listing = options.begin();
        resourceVersion = "";
        next = undefined;
        tokens.clear();
        continue;
      }
      throw error;
    }
    for (const item of page.items ?? []) listing.add(item);
    resourceVersion ||= page.metadata?.resourceVersion ?? "";
    next = page.metadata?.continue || undefined;
    if (!next) break;
    if (tokens.has(next) || tokens.size >= MAX_PAGES) {
      throw new AnswerError(
        tokens.has(next)
          ? `sent a list page's continue token again, so the list would never end`
          : `sent more than ${MAX_PAGES} pages for one list`,
      );
    }
    tokens.add(next);
  }
  listing.commit();
  return resourceVersion;
}

async function readPage(
  client: KubeClient,
  path: string,
  options: ListOptions,
): Promise<ListPage> {
  const waitMs = options.pageTimeoutMs;
  const timeout = waitMs === undefined
    ? undefined
    : AbortSignal.timeout(waitMs);
  const signals = [options.signal, timeout].filter((s) => s !== undefined);
  try {
    return await client.json(path, {
      signal: signals.length ? AbortSignal.any(signals) : undefined,
    }) as ListPage;
  } catch (error) {
    if (timeout?.aborted && !options.signal?.aborted) {
      client.reconnect();
      throw new ListTimeout(waitMs as number);
    }
    throw error;
  }
}

/** Whether `error` says the resource version asked for has expired. */
export function isGone(error: unknown): boolean {
  return error instanceof ApiError &&
    (error.status === 410 || error.reason === "Expired" ||
      error.reason === "Gone");
}

/** `ms` in seconds, whole from 10 s up, for messages. */
export function seconds(ms: number): number {
  return ms >= 10_000 ? Math.round(ms / 1000) : ms / 1000;
}
