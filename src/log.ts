/**
 * Structured logs: one JSON object per line on stderr, with `time`, `level`
 * and `msg`, plus whatever fields the call site adds.
 *
 * @module
 */

/** Log levels, least severe first. */
export const LOG_LEVELS = ["debug", "info", "warn", "error"] as const;

/** One of {@link LOG_LEVELS}. */
export type LogLevel = typeof LOG_LEVELS[number];

/** Extra fields of a log line. */
export type LogFields = Record<string, unknown>;

/** A structured logger. */
export interface Logger {
  /** Logs at debug level. */
  debug(msg: string, fields?: LogFields): void;
  /** Logs at info level. */
  info(msg: string, fields?: LogFields): void;
  /** Logs at warn level. */
  warn(msg: string, fields?: LogFields): void;
  /** Logs at error level. */
  error(msg: string, fields?: LogFields): void;
  /** A logger that adds `fields` to every line. */
  with(fields: LogFields): Logger;
}

/** Options for {@link createLogger}. */
export interface LoggerOptions {
  /** Lines below this level are skipped. Default `info`. */
  level?: LogLevel;
  /** Where lines go. Default: stderr. */
  write?: (line: string) => void;
  /** Fields on every line. */
  fields?: LogFields;
}

const encoder = new TextEncoder();

function writeStderr(line: string): void {
  try {
    Deno.stderr.writeSync(encoder.encode(line + "\n"));
  } catch {
    // A closed stderr must not take the service down.
  }
}

/** Creates a logger writing JSON lines. */
export function createLogger(options: LoggerOptions = {}): Logger {
  const threshold = LOG_LEVELS.indexOf(options.level ?? "info");
  const write = options.write ?? writeStderr;
  const base = options.fields ?? {};
  const emit = (level: LogLevel, msg: string, fields?: LogFields) => {
    if (LOG_LEVELS.indexOf(level) < threshold) return;
    const line: LogFields = {
      time: new Date().toISOString(),
      level,
      msg,
      ...base,
    };
    for (const [key, value] of Object.entries(fields ?? {})) {
      line[key] = value instanceof Error ? value.message : value;
    }
    write(JSON.stringify(line));
  };
  return {
    debug: (msg, fields) => emit("debug", msg, fields),
    info: (msg, fields) => emit("info", msg, fields),
    warn: (msg, fields) => emit("warn", msg, fields),
    error: (msg, fields) => emit("error", msg, fields),
    with: (fields) =>
      createLogger({ ...options, fields: { ...base, ...fields } }),
  };
}

/** Options for {@link throttleLog}. */
export interface ThrottleOptions {
  /** Lines each key may log per window. Default 5. */
  burst?: number;
  /** The window, ms. Default 10 s. */
  windowMs?: number;
  /** Keys remembered at once; past it the oldest is forgotten. Default 1000. */
  maxKeys?: number;
}

/** Which lines count as repeats of each other; default: same level and message. */
export interface ThrottleKey {
  /** Added to the level and message, e.g. a refusal's reason. */
  key?: string;
}

/** A logger whose repeated lines are rate limited; see {@link throttleLog}. */
export interface ThrottledLogger {
  /** Logs at debug level, unless this key has used its burst. */
  debug(msg: string, fields?: LogFields, options?: ThrottleKey): void;
  /** Logs at info level, unless this key has used its burst. */
  info(msg: string, fields?: LogFields, options?: ThrottleKey): void;
  /** Logs at warn level, unless this key has used its burst. */
  warn(msg: string, fields?: LogFields, options?: ThrottleKey): void;
  /** Logs at error level, unless this key has used its burst. */
  error(msg: string, fields?: LogFields, options?: ThrottleKey): void;
  /** Logs what is still suppressed and stops the timers. */
  close(): void;
}

interface Window {
  level: LogLevel;
  msg: string;
  key: string | undefined;
  startedAt: number;
  logged: number;
  suppressed: number;
  timer?: ReturnType<typeof setTimeout>;
}

/**
 * Rate limits lines a peer can make repeat (refusals, failed accepts), so
 * a flood cannot flood the log too: each key logs `burst` lines per
 * window; the rest are counted, and when the window ends one line says
 * how many were suppressed.
 */
export function throttleLog(
  log: Logger,
  options: ThrottleOptions = {},
): ThrottledLogger {
  const burst = options.burst ?? 5;
  const windowMs = options.windowMs ?? 10_000;
  const maxKeys = options.maxKeys ?? 1000;
  const windows = new Map<string, Window>();
  const report = (window: Window) => {
    window.timer = undefined;
    if (window.suppressed === 0) return;
    log[window.level]("Suppressed repeated log lines", {
      repeated: window.msg,
      key: window.key,
      suppressed: window.suppressed,
      seconds: windowMs / 1000,
    });
    window.suppressed = 0;
  };
  const emit = (
    level: LogLevel,
    msg: string,
    fields?: LogFields,
    throttle: ThrottleKey = {},
  ) => {
    const id = `${level}\u0000${msg}\u0000${throttle.key ?? ""}`;
    const now = performance.now();
    let window = windows.get(id);
    if (window && now - window.startedAt >= windowMs) {
      clearTimeout(window.timer);
      report(window);
      windows.delete(id);
      window = undefined;
    }
    if (!window) {
      if (windows.size >= maxKeys) {
        const [oldest, forgotten] = windows.entries().next().value!;
        clearTimeout(forgotten.timer);
        report(forgotten);
        windows.delete(oldest);
      }
      window = {
        level,
        msg,
        key: throttle.key,
        startedAt: now,
        logged: 0,
        suppressed: 0,
      };
      windows.set(id, window);
    }
    if (window.logged < burst) {
      window.logged++;
      log[level](msg, fields);
      return;
    }
    window.suppressed++;
    if (window.timer === undefined) {
      const pending = window;
      const timer = setTimeout(
        () => report(pending),
        Math.max(0, windowMs - (now - window.startedAt)),
      );
      // A summary must never keep the process alive.
      Deno.unrefTimer(timer);
      pending.timer = timer;
    }
  };
  return {
    debug: (msg, fields, throttle) => emit("debug", msg, fields, throttle),
    info: (msg, fields, throttle) => emit("info", msg, fields, throttle),
    warn: (msg, fields, throttle) => emit("warn", msg, fields, throttle),
    error: (msg, fields, throttle) => emit("error", msg, fields, throttle),
    close() {
      for (const window of windows.values()) {
        clearTimeout(window.timer);
        report(window);
      }
      windows.clear();
    },
  };
}
