/** Log levels, most severe first (Butler SOS's names, reference §16). */
export const LOG_LEVELS = ["error", "warn", "info", "verbose", "debug", "silly"] as const;

/** One of the Butler SOS log levels. */
export type LogLevel = (typeof LOG_LEVELS)[number];

/** A levelled logger; `fields` are added to JSON output and appended to text output. */
export type Logger = Record<LogLevel, (msg: string, fields?: Record<string, unknown>) => void> & {
  /** True when `level` would be written; use it to skip building expensive messages. */
  enabled(level: LogLevel): boolean;
};

/** Options for {@link createLogger}. */
export interface LoggerOptions {
  /** Most verbose level written. @default "info" */
  level?: LogLevel;
  /** `text` (`<iso> <level>: <msg>`) or `json` (`{"time","level","msg",…}`). @default "text" */
  format?: "text" | "json";
  /** Where lines go (one call per line, without newline). @default stdout */
  write?: (line: string) => void;
  /** Clock, injectable for tests. */
  now?: () => Date;
}

/** Creates a logger writing one line per entry (reference §16). */
export function createLogger(options: LoggerOptions = {}): Logger {
  const threshold = LOG_LEVELS.indexOf(options.level ?? "info");
  const format = options.format ?? "text";
  const write = options.write ?? ((line: string) => process.stdout.write(`${line}\n`));
  const now = options.now ?? (() => new Date());
  const entry =
    (level: LogLevel) =>
    (msg: string, fields?: Record<string, unknown>): void => {
      if (LOG_LEVELS.indexOf(level) > threshold) return;
      const time = now().toISOString();
      if (format === "json") {
        write(JSON.stringify({ time, level, msg, ...fields }));
      } else {
        write(`${time} ${level}: ${msg}${fields ? ` ${JSON.stringify(fields)}` : ""}`);
      }
    };
  return {
    error: entry("error"),
    warn: entry("warn"),
    info: entry("info"),
    verbose: entry("verbose"),
    debug: entry("debug"),
    silly: entry("silly"),
    enabled: (level) => LOG_LEVELS.indexOf(level) <= threshold,
  };
}

/** A logger that writes nothing (tests, benchmarks). */
export const silentLogger: Logger = createLogger({ level: "error", write: () => {} });
