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
import { nextTurn } from "../timer.ts";
import {
  AnswerError,
  ApiError,
  type KubeClient,
  parseAnswer,
} from "./client.ts";

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
 *
 * The next page is asked for as soon as this one's body is in, before it
 * is parsed and handed over, so the API server builds it meanwhile: the
 * list's own metadata, which holds the continue token, is one small object
 * before or after the items. The token read from the text is only a guess
 * until the page is parsed; a wrong guess is dropped and the right page
 * asked for, so the API server is asked for nothing it would not be.
 */
export async function listCollection(
  client: KubeClient,
  path: string,
  options: ListOptions,
): Promise<string> {
  let listing = options.begin();
  let resourceVersion = "";
  let restarted = false;
  let current = askPage(client, path, undefined, options);
  let ahead: PageRequest | undefined;
  // A server that hands out a token again would be listed forever.
  const tokens = new Set<string>();
  try {
    while (true) {
      let text: string;
      try {
        text = await current.text;
      } catch (error) {
        // A continue token can expire between pages; start over once.
        if (isGone(error) && current.token && !restarted) {
          restarted = true;
          listing = options.begin();
          resourceVersion = "";
          tokens.clear();
          current = askPage(client, path, undefined, options);
          continue;
        }
        throw error;
      }
      const guess = continueIn(text);
      if (guess && !tokens.has(guess)) {
        ahead = askPage(client, path, guess, options);
        // fetch sends from the event loop: let it run once, or the request
        // would leave only after this page is parsed and handed over.
        await nextTurn();
      }
      const page = parseAnswer(text) as ListPage;
      for (const item of page.items ?? []) listing.add(item);
      resourceVersion ||= page.metadata?.resourceVersion ?? "";
      const next = page.metadata?.continue || undefined;
      if (!next) break;
      checkToken(tokens, next);
      current = ahead?.token === next
        ? ahead
        : askPage(client, path, next, options);
      if (current !== ahead) ahead?.cancel();
      ahead = undefined;
    }
  } finally {
    ahead?.cancel();
  }
  listing.commit();
  return resourceVersion;
}

function checkToken(tokens: Set<string>, next: string): void {
  if (tokens.has(next) || tokens.size >= MAX_PAGES) {
    throw new AnswerError(
      tokens.has(next)
        ? `sent a list page's continue token again, so the list would never end`
        : `sent more than ${MAX_PAGES} pages for one list`,
    );
  }
  tokens.add(next);
}

/** A page asked for: its body's text, once it is in. */
interface PageRequest {
  /** The continue token it was asked with; undefined for the first page. */
  token: string | undefined;
  /** The body; rejects as {@link readPage} does. */
  text: Promise<string>;
  /** Abandons it (a page asked for ahead that is not needed). */
  cancel(): void;
}

function askPage(
  client: KubeClient,
  path: string,
  token: string | undefined,
  options: ListOptions,
): PageRequest {
  const query = new URLSearchParams({
    limit: String(options.pageSize ?? 500),
  });
  if (options.fieldSelector) query.set("fieldSelector", options.fieldSelector);
  if (token) query.set("continue", token);
  const cancelled = new AbortController();
  const text = readPage(client, `${path}?${query}`, options, cancelled.signal);
  // Awaited when its turn comes; a cancelled one never is.
  text.catch(() => {});
  return { token, text, cancel: () => cancelled.abort() };
}

/**
 * The continue token in a list's own metadata: the object keyed
 * `metadata` that is not inside the items, before them (built-in lists
 * put it first) or after them (custom resources' lists are sorted by key).
 */
export function continueIn(text: string): string | undefined {
  const items = text.indexOf('"items"');
  if (items < 0) return undefined;
  const outside = [text.slice(0, items), text.slice(text.lastIndexOf("]"))];
  for (const part of outside) {
    const found = /"metadata"\s*:\s*\{[^{}]*?"continue"\s*:\s*"([^"\\]+)"/
      .exec(part);
    if (found) return found[1];
  }
  return undefined;
}

async function readPage(
  client: KubeClient,
  path: string,
  options: ListOptions,
  cancelled: AbortSignal,
): Promise<string> {
  const waitMs = options.pageTimeoutMs;
  const timeout = waitMs === undefined
    ? undefined
    : AbortSignal.timeout(waitMs);
  const signals = [options.signal, timeout, cancelled].filter((s) =>
    s !== undefined
  );
  try {
    return await client.text(path, { signal: AbortSignal.any(signals) });
  } catch (error) {
    if (timeout?.aborted && !options.signal?.aborted && !cancelled.aborted) {
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
