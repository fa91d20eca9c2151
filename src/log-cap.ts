import type { Logger } from "./log.ts";

/** Distinct sources remembered per reason and interval; beyond this the summary says "at least". */
const MAX_SOURCES = 10_000;

/**
 * Builds a summary from the interval's occurrences and distinct sources (null when the call site
 * never names a source), e.g. `[udp] dropped 39,000 datagrams from 2,048 sources not in allowedSources`.
 */
export type Describe = (count: string, sources: string | null) => string;

/** A logger for one repeated warning: its `warn` and `error` lines are capped, the rest pass through. */
export interface CappedLog extends Logger {
  /** Counts one occurrence (e.g. one dropped datagram) from `source` for the interval's summary. */
  note(source?: string): void;
}

/** Options for {@link createLogCap}. */
export interface LogCapOptions {
  log: Logger;
  /** Clock in epoch ms, injectable for tests. @default Date.now */
  now?: () => number;
  /** Length of one interval. @default 60000 */
  intervalMs?: number;
  /** Warn/error lines written per interval over all reasons. @default 50 */
  maxLines?: number;
  /** Warn/error lines written per interval for one reason. @default 10 */
  maxLinesPerReason?: number;
}

/** A process-wide cap on repeated warnings, with one summary line per reason that hit the cap. */
export interface LogCap {
  /** The capped logger of `reason` (the same one for the same name; `describe` of the first call wins). */
  for(reason: string, describe: Describe): CappedLog;
  /** Writes the summaries of an interval that has ended; call it from a periodic timer. */
  flush(): void;
  /** Warn/error lines suppressed since start. */
  readonly suppressed: number;
}

interface ReasonState {
  describe: Describe;
  lines: number;
  suppressed: number;
  notes: number;
  sources: Set<string>;
}

const number = new Intl.NumberFormat("en-US");

/**
 * Creates a cap: within one interval (started by the first line after the previous one ended, like
 * the throttling windows of reference §3.6), at most `maxLinesPerReason` warn/error lines per reason
 * and `maxLines` in all are written. When the interval ends, each reason that had lines suppressed
 * gets one summary line, so the log stays bounded whatever a flood of datagrams does.
 */
export function createLogCap(options: LogCapOptions): LogCap {
  const { log } = options;
  const now = options.now ?? Date.now;
  const intervalMs = options.intervalMs ?? 60_000;
  const maxLines = options.maxLines ?? 50;
  const maxPerReason = options.maxLinesPerReason ?? 10;
  const reasons = new Map<string, ReasonState>();
  const loggers = new Map<string, CappedLog>();
  let startedAt = Number.NEGATIVE_INFINITY;
  let lines = 0;
  let suppressedTotal = 0;
  const minutes = intervalMs === 60_000 ? "minute" : `${intervalMs / 1000} s`;

  function rollOver(): void {
    const t = now();
    if (t - startedAt < intervalMs) return;
    for (const state of reasons.values()) {
      if (state.suppressed > 0) {
        const count = state.notes > 0 ? state.notes : state.lines + state.suppressed;
        const sources =
          state.sources.size === 0
            ? null
            : `${state.sources.size >= MAX_SOURCES ? "at least " : ""}${number.format(state.sources.size)}`;
        log.warn(
          `${state.describe(number.format(count), sources)} in the last ${minutes} ` +
            `(${number.format(state.suppressed)} log lines suppressed)`,
        );
      }
      state.lines = 0;
      state.suppressed = 0;
      state.notes = 0;
      state.sources.clear();
    }
    startedAt = t;
    lines = 0;
  }

  function capped(state: ReasonState, write: Logger["warn"]): Logger["warn"] {
    return (msg, fields) => {
      rollOver();
      if (lines < maxLines && state.lines < maxPerReason) {
        lines++;
        state.lines++;
        write(msg, fields);
      } else {
        state.suppressed++;
        suppressedTotal++;
      }
    };
  }

  return {
    for(reason, describe) {
      const existing = loggers.get(reason);
      if (existing !== undefined) return existing;
      const state: ReasonState = { describe, lines: 0, suppressed: 0, notes: 0, sources: new Set() };
      reasons.set(reason, state);
      const logger: CappedLog = {
        ...log,
        warn: capped(state, log.warn),
        error: capped(state, log.error),
        note(source) {
          rollOver();
          state.notes++;
          if (source !== undefined && state.sources.size < MAX_SOURCES) state.sources.add(source);
        },
      };
      loggers.set(reason, logger);
      return logger;
    },
    flush: rollOver,
    get suppressed() {
      return suppressedTotal;
    },
  };
}
