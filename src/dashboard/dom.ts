/**
 * The page's render helper: plain DOM, no framework. {@link h} builds an
 * element; {@link patchRows} keeps a container's children in step with a
 * list of keyed items, reusing the element of every item whose content
 * did not change, so a change to one persona among thousands touches one
 * row.
 *
 * @module
 */

/** Attributes of {@link h}: strings, booleans (present or not), handlers. */
export type Attrs = Record<
  string,
  string | number | boolean | undefined | ((event: Event) => void)
>;

/** A child of {@link h}: an element, text, nothing, or a list of these. */
export type Child =
  | Node
  | string
  | number
  | null
  | undefined
  | false
  | readonly Child[];

/**
 * Creates `tag` with `attrs` and `children`. `class` and the `aria-` and
 * `data-` attributes are set as attributes; `on...` functions become
 * listeners; `false` and `undefined` leave an attribute out.
 */
export function h(
  tag: string,
  attrs: Attrs | null = null,
  ...children: Child[]
): HTMLElement {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs ?? {})) {
    if (value === undefined || value === false) continue;
    if (typeof value === "function") {
      element.addEventListener(name.slice(2), value);
    } else {
      element.setAttribute(name, value === true ? "" : String(value));
    }
  }
  append(element, children);
  return element;
}

function append(parent: Node, children: readonly Child[]): void {
  for (const child of children) {
    if (Array.isArray(child)) append(parent, child);
    else if (child instanceof Node) parent.appendChild(child);
    else if (child !== null && child !== undefined && child !== false) {
      parent.appendChild(document.createTextNode(String(child)));
    }
  }
}

/** Replaces the children of `parent`. */
export function replaceChildren(
  parent: Element,
  ...children: Child[]
): void {
  parent.textContent = "";
  append(parent, children);
}

/**
 * Fills each `[data-slot]` element under `root` (markup of the page) with
 * `slots[name]`.
 */
export function fillSlots(root: Element, slots: Record<string, Child>): void {
  for (const slot of root.querySelectorAll<HTMLElement>("[data-slot]")) {
    replaceChildren(slot, slots[slot.dataset.slot as string]);
  }
}

/** Sets `element`'s text when it differs (a write that changes nothing costs a layout). */
export function setText(element: Element, text: string): void {
  if (element.textContent !== text) element.textContent = text;
}

/** One item for {@link patchRows}. */
export interface Keyed {
  /** Identity across renders. */
  key: string;
  /** Changes whenever what the row shows changes. */
  signature: string;
}

interface Rendered {
  element: Element;
  signature: string;
}

const rendered = new WeakMap<Element, Map<string, Rendered>>();

/**
 * Rows a table builds in one frame: a first screenful at once, the rest in
 * the frames after, so no frame lays out hundreds of new rows.
 */
export const ROWS_PER_FRAME = 40;

/** Options for {@link patchRows}. */
export interface PatchOptions<T> {
  /** Builds the element of an item. */
  render: (item: T) => Element;
  /** The rows follow this child (a table's head); default: from the start. */
  after?: Element;
  /**
   * How many rows may still be built in this frame, shared by the calls of
   * one render; rows past it wait for the next frame.
   */
  budget?: { left: number };
}

/**
 * Makes the children of `parent` (after `options.after`) the rows of
 * `items`, in order. A row whose key and signature are unchanged keeps
 * its element; others are built with `options.render`. Elements are moved
 * only when out of place. When `options.budget` runs out, rows that would
 * need building are left out; returns false when any was.
 */
export function patchRows<T extends Keyed>(
  parent: Element,
  items: readonly T[],
  options: PatchOptions<T>,
): boolean {
  let complete = true;
  const render = options.render;
  const before = rendered.get(parent) ?? new Map<string, Rendered>();
  const after = new Map<string, Rendered>();
  // Everything before the cursor is in place.
  let cursor: ChildNode | null = options.after
    ? options.after.nextSibling
    : parent.firstChild;
  for (const item of items) {
    let row = before.get(item.key);
    // A row redrawn under the keyboard's focus gives it to its successor.
    let refocus = false;
    if (row && row.signature !== item.signature) {
      if (row.element === cursor) cursor = cursor.nextSibling;
      refocus = row.element.contains(document.activeElement);
      row.element.remove();
      row = undefined;
    }
    if (!row && options.budget && options.budget.left <= 0) {
      complete = false;
      continue;
    }
    if (!row) {
      row = { element: render(item), signature: item.signature };
      if (options.budget) options.budget.left--;
    }
    after.set(item.key, row);
    if (row.element === cursor) cursor = cursor.nextSibling;
    else parent.insertBefore(row.element, cursor);
    if (refocus) {
      row.element.querySelector<HTMLElement>("button, a[href], input, select")
        ?.focus();
    }
  }
  // Rows no longer listed, and anything not rendered here, are all after it.
  while (cursor) {
    const next: ChildNode | null = cursor.nextSibling;
    cursor.remove();
    cursor = next;
  }
  rendered.set(parent, after);
  return complete;
}

/**
 * Fills a `<select>` with `values` after its first option (the page's "all"
 * option), keeping the choice.
 */
export function fillSelect(
  select: HTMLSelectElement,
  options: { values: string[]; chosen: string },
): void {
  const values = [...new Set([...options.values, options.chosen])].filter(
    Boolean,
  );
  const signature = JSON.stringify(values);
  if (select.dataset.options !== signature) {
    select.dataset.options = signature;
    replaceChildren(
      select,
      select.options[0],
      values.map((value) => h("option", { value }, value)),
    );
  }
  if (select.value !== options.chosen) select.value = options.chosen;
}

/** The page's element `#id`; throws when the page lacks it. */
export function byId<T extends HTMLElement = HTMLElement>(id: string): T {
  const element = document.getElementById(id);
  if (!element) throw new Error(`The page has no #${id}.`);
  return element as T;
}

/** The page's own address for `path`, so a proxy's path prefix is kept. */
export function here(path: string): URL {
  return new URL(path, location.href);
}
