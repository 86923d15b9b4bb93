/**
 * Small pieces every view draws the same way: a state as a badge (colour
 * and words, never colour alone), a time, a count.
 *
 * @module
 */
import { h } from "./dom.ts";
import { toneOf } from "./filters.ts";

/** A state in its tone, with its name as text. */
export function badge(value: string, label = value): HTMLElement {
  return h(
    "span",
    { class: `badge tone-${toneOf(value)}` },
    label || "unknown",
  );
}

const TIME = new Intl.DateTimeFormat("en-GB", {
  hour: "2-digit",
  minute: "2-digit",
  second: "2-digit",
});
const DAY = new Intl.DateTimeFormat("en-GB", {
  day: "numeric",
  month: "short",
});

/**
 * A `<time>` for an RFC 3339 instant: the local time of day, with the day
 * before it when it is not today; the instant in UTC on hover.
 */
export function timeElement(iso: string): HTMLElement {
  const at = new Date(iso);
  if (Number.isNaN(at.getTime())) return h("span", null, iso || "-");
  const today = new Date().toDateString() === at.toDateString();
  return h(
    "time",
    { datetime: at.toISOString(), title: at.toISOString() },
    today ? TIME.format(at) : `${DAY.format(at)} ${TIME.format(at)}`,
  );
}

/** The local time of day of `at`. */
export function clock(at: Date): string {
  return TIME.format(at);
}

const NUMBER = new Intl.NumberFormat("en");

/** `1,234 personas`, `1 persona`. */
export function count(n: number, noun: string): string {
  return `${NUMBER.format(n)} ${noun}${n === 1 ? "" : "s"}`;
}

/** A number with thousands separators. */
export function number(n: number): string {
  return NUMBER.format(n);
}
