/**
 * Writing to stdout so that a closed pipe ends the command: `dorgu-ws watch
 * personas | head -1` must exit once `head` has, and `console.log` swallows
 * the broken pipe.
 *
 * @module
 */

/** stdout was closed by its reader (`| head -1`): stop quietly, exit 0. */
export class OutputClosed extends Error {
  /** Creates the error. */
  constructor() {
    super("stdout was closed");
    this.name = "OutputClosed";
  }
}

const encoder = new TextEncoder();

/**
 * Writes `text` and a newline to stdout, all of it; throws
 * {@link OutputClosed} when the reader has gone.
 */
export function writeLine(text: string): void {
  let bytes = encoder.encode(`${text}\n`);
  try {
    while (bytes.length > 0) {
      bytes = bytes.subarray(Deno.stdout.writeSync(bytes));
    }
  } catch (error) {
    if (error instanceof Deno.errors.BrokenPipe) throw new OutputClosed();
    throw error;
  }
}

// C0 controls (a tab and a line feed only where `keepLines`), DEL and the
// C1 controls: what a terminal acts on rather than shows.
// deno-lint-ignore no-control-regex
const CONTROLS = /[\u0000-\u001f\u007f-\u009f]/g;
// deno-lint-ignore no-control-regex
const CONTROLS_BUT_LINES = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g;

/**
 * `text` with every control character written out (`^[` for ESC, `^M`,
 * `\u009b`): what a server or a cluster says reaches a terminal as text,
 * never as an escape sequence that sets the clipboard (OSC 52), retitles
 * the window, moves the cursor over earlier lines or hides them. Anyone
 * allowed to create an Event in a namespace chooses its message. Tabs and
 * line breaks stay when `keepLines` (a multi-line error of this program's
 * own).
 */
export function forTerminal(text: string, keepLines = false): string {
  return text.replace(keepLines ? CONTROLS_BUT_LINES : CONTROLS, (c) => {
    const code = c.charCodeAt(0);
    return code < 0x20 || code === 0x7f
      ? `^${String.fromCharCode(code ^ 0x40)}`
      : `\\u${code.toString(16).padStart(4, "0")}`;
  });
}

/** A copy of `value` with {@link forTerminal} applied to every string in it. */
export function printable<T>(value: T): T {
  if (typeof value === "string") return forTerminal(value) as T;
  if (Array.isArray(value)) return value.map(printable) as T;
  if (value !== null && typeof value === "object") {
    return Object.fromEntries(
      Object.entries(value).map(([key, item]) => [key, printable(item)]),
    ) as T;
  }
  return value;
}
