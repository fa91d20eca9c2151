import type { DestinationState } from "../stats.ts";
import { backoffMs, MAX_RETRY_AFTER_MS } from "./backoff.ts";
import type { SendResult } from "./destination.ts";
import type { BatchOutcome } from "./lane-queue.ts";

/** What the outbox does with a finished batch, decided by {@link LaneSchedule.settle}. */
export interface Settlement {
  /** Remove the batch (null: keep it for a retry or a smaller batch). */
  finish: { outcome: BatchOutcome | null } | null;
  /** A line to log, once per state change or per drop. */
  log: { level: "info" | "warn" | "error"; message: string } | null;
}

/** What {@link LaneSchedule.due} needs to know about the queue and destination. */
export interface DueInput {
  waiting: number;
  draining: boolean;
  maxBatchItems: number;
  flushIntervalMs: number;
}

/** Longest backoffs and a jitter source; tests shorten the backoff. */
export interface ScheduleOptions {
  random: () => number;
  /** Multiplies every computed backoff (not Retry-After). @default 1 */
  backoffScale?: number;
}

/**
 * When a lane sends next and what a result means (reference §9): pure state with no timers, so it is
 * tested by calling `due` and `settle` with chosen clocks.
 */
export class LaneSchedule {
  state: Exclude<DestinationState, "disabled"> = "up";
  retries = 0;
  lastError: string | null = null;
  lastSuccessAt: number | null = null;
  /** Enqueue time of the oldest unsent item (or earlier, never later). */
  oldestAt = Number.POSITIVE_INFINITY;
  #attempt = 0;
  #retryAt = 0;
  /** Batch size limit after a 413, and how many items still have to pass under it. */
  #splitCap = Number.POSITIVE_INFINITY;
  #splitLeft = 0;
  #warnedCardinality = false;
  readonly #options: ScheduleOptions;

  constructor(
    readonly name: string,
    options: ScheduleOptions,
  ) {
    this.#options = options;
  }

  /** A rebuilt destination may have new credentials: try again now rather than after the old backoff. */
  reset(): void {
    this.#attempt = 0;
    this.#retryAt = 0;
    this.#splitCap = Number.POSITIVE_INFINITY;
    this.#splitLeft = 0;
    this.state = "up";
  }

  /** Most items in the next batch. */
  cap(maxBatchItems: number): number {
    return Math.min(maxBatchItems, this.#splitCap);
  }

  /** Time of the next send: at once when full or draining, after the flush interval or backoff otherwise; null when idle. */
  due(now: number, input: DueInput): number | null {
    if (input.waiting === 0) return null;
    if (this.#retryAt > now) return this.#retryAt;
    if (input.draining || input.waiting >= input.maxBatchItems) return now;
    return this.oldestAt + input.flushIntervalMs;
  }

  /** Decides what a send result of an `n`-item batch means, and updates the state (reference §9 result classes). */
  settle(result: SendResult, n: number, now: number): Settlement {
    switch (result.kind) {
      case "ok":
      case "partial": {
        const wasDown = this.state !== "up";
        this.lastSuccessAt = now;
        this.#attempt = 0;
        this.#retryAt = 0;
        this.#passedSplit(n);
        this.state = "up";
        if (result.kind === "partial") return this.#partial(result, n);
        return {
          finish: { outcome: null },
          log: wasDown ? { level: "info", message: `[outbox] ${this.name}: delivering again` } : null,
        };
      }
      case "retry":
      case "blocked":
        return { finish: null, log: this.#failed(result, now) };
      case "too_large":
        if (n > 1) {
          // Halve until the batch fits; the limit holds until every item of the refused batch has passed.
          this.#splitCap = Math.ceil(n / 2);
          this.#splitLeft = Math.max(this.#splitLeft, n);
          return { finish: null, log: null };
        }
        return this.#reject(n, result.error, "rejected");
      case "rejected":
        return this.#reject(n, result.error, result.reason ?? "rejected");
    }
  }

  #failed(result: Extract<SendResult, { kind: "retry" | "blocked" }>, now: number): Settlement["log"] {
    this.retries++;
    this.#attempt++;
    this.lastError = result.error;
    const delay =
      result.retryAfterMs !== undefined
        ? Math.min(MAX_RETRY_AFTER_MS, Math.max(0, result.retryAfterMs))
        : Math.round(backoffMs(this.#attempt, this.#options.random) * (this.#options.backoffScale ?? 1));
    this.#retryAt = now + delay;
    const state = result.kind === "blocked" ? "blocked" : "retrying";
    // Compare states, not result kinds ("retry" vs "retrying"), so each outage is logged once.
    const changed = this.state !== state;
    this.state = state;
    if (!changed) return null;
    return result.kind === "blocked"
      ? {
          level: "error",
          message: `[outbox] ${this.name}: refused (blocked), keeping items and retrying: ${result.error}`,
        }
      : { level: "warn", message: `[outbox] ${this.name}: delivery failed, retrying: ${result.error}` };
  }

  #reject(n: number, error: string, reason: BatchOutcome["reason"]): Settlement {
    this.lastError = error;
    this.#passedSplit(n);
    return {
      finish: { outcome: { dropped: n, reason } },
      log: this.#dropLog(n, error, reason),
    };
  }

  #partial(result: Extract<SendResult, { kind: "partial" }>, n: number): Settlement {
    this.lastError = result.error;
    const dropped = Math.min(n, result.dropped);
    return {
      finish: { outcome: { dropped, reason: result.reason } },
      log: this.#dropLog(dropped, result.error, result.reason),
    };
  }

  #dropLog(n: number, error: string, reason: BatchOutcome["reason"]): Settlement["log"] {
    if (reason === "cardinality") {
      // Every later write hits the same limit: say once what to do, then stay quiet.
      if (this.#warnedCardinality) return null;
      this.#warnedCardinality = true;
      return {
        level: "error",
        message:
          `[outbox] ${this.name}: InfluxDB refused points over its max-values-per-tag limit (counted as dropped.cardinality): ` +
          `raise max-values-per-tag in influxdb.conf (0 = unlimited) or write user ids as fields ` +
          `(sense-events.influxdb.userTags: false): ${error.slice(0, 512)}`,
      };
    }
    return {
      level: "error",
      message: `[outbox] ${this.name}: dropped ${n} rejected items: ${error.slice(0, 512)}`,
    };
  }

  #passedSplit(n: number): void {
    if (this.#splitLeft === 0) return;
    this.#splitLeft = Math.max(0, this.#splitLeft - n);
    if (this.#splitLeft === 0) this.#splitCap = Number.POSITIVE_INFINITY;
  }
}
