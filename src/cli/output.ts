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
