/**
 * The contract check for frames that dorgu-ws CLI processes receive: the
 * tests' own clients check every frame as it arrives (frame_check.ts),
 * and processes run with `main.ts` record theirs (frame_log_preload.ts)
 * for {@link FrameLog.check} to read once the process has ended. runCli
 * and spawnCli use one each, so no test of the CLI can skip it.
 *
 * @module
 */
import { checkServerFrame } from "./contract.ts";

const PRELOAD = new URL("./frame_log_preload.ts", import.meta.url).pathname;

/** Where one process records the frames it receives. */
export class FrameLog {
  /** The file, created empty. */
  readonly path: string;

  /** Creates the file. */
  constructor() {
    this.path = Deno.makeTempFileSync({ prefix: "dorgu-ws-frames-" });
  }

  /** `deno run` flags that make a process record into this log. */
  get flags(): string[] {
    return ["--preload", PRELOAD, `--allow-write=${this.path}`];
  }

  /** The environment variable the preload reads. */
  get env(): Record<string, string> {
    return { DORGU_WS_TEST_FRAME_LOG: this.path };
  }

  /** Removes the file unread (see runCli's `offContract`). */
  discard(): void {
    Deno.removeSync(this.path);
  }

  /**
   * Checks every recorded frame against the contract, then removes the
   * file; throws the first violation. Returns how many frames it checked.
   */
  check(): number {
    let text: string;
    try {
      text = Deno.readTextFileSync(this.path);
    } catch {
      return 0; // Checked already.
    }
    Deno.removeSync(this.path);
    const frames = text.split("\n").filter((line) => line !== "");
    for (const line of frames) checkServerFrame(JSON.parse(line));
    return frames.length;
  }
}
