/**
 * One change to one cached object, as the store reports it: the projection
 * before and after (client-go's handlers see old and new the same way), and
 * the lifecycle events such a change amounts to.
 *
 * @module
 */
import type { Projections } from "./projections.ts";
import type { Resource } from "./resources.ts";

/** A change to one object of resource `R`. */
export interface ChangeOf<R extends Resource> {
  /** The resource the object belongs to. */
  resource: R;
  /** The cached projection before; undefined when the object is new. */
  previous: Projections[R] | undefined;
  /** The cached projection after; undefined when the object is gone. */
  next: Projections[R] | undefined;
  /**
   * Whether the change is part of the first listing of the object's
   * namespace (or of the cluster): what existed before the server started
   * is state to list, not news to stream.
   */
  initial: boolean;
}

/** A change to one object of any resource; `resource` tells which. */
export type Change = { [R in Resource]: ChangeOf<R> }[Resource];

/** What a change to one object is, as a state topic reports it. */
export type ChangeType = "created" | "updated" | "deleted";

/**
 * The same key with another uid: deleted and created again while the
 * source was not looking.
 */
export function replacedObject(
  previous: { uid: string } | undefined,
  next: { uid: string } | undefined,
): boolean {
  return !!previous?.uid && !!next?.uid && previous.uid !== next.uid;
}

/**
 * The created/updated/deleted events one object's change amounts to;
 * `updated` only when `differs` says a field the protocol shows differs.
 */
export function changeTypes<P extends { uid: string }>(
  change: { previous: P | undefined; next: P | undefined },
  differs: (a: P, b: P) => boolean,
): [ChangeType, P][] {
  const { previous, next } = change;
  if (previous && next) {
    if (replacedObject(previous, next)) {
      return [["deleted", previous], ["created", next]];
    }
    return differs(previous, next) ? [["updated", next]] : [];
  }
  if (next) return [["created", next]];
  if (previous) return [["deleted", previous]];
  return [];
}

/** Orders strings by UTF-16 code units, as the protocol's lists are sorted. */
export function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
