import type { Logger } from "../log.ts";
import type { DestinationStats } from "../stats.ts";
import type { Destination } from "./destination.ts";
import type { Batch, LaneQueue } from "./lane-queue.ts";
import type { LaneSchedule } from "./schedule.ts";
import type { Spool } from "./spool.ts";
import type { SpoolFile } from "./spool-file.ts";

/** Timer functions the outbox schedules with; injectable so tests control delays. */
export interface OutboxTimers {
  /** Runs `fn` once after `ms`; the returned handle is passed to `clear`. */
  set(fn: () => void, ms: number): unknown;
  /** Cancels a timer returned by `set`. */
  clear(handle: unknown): void;
}

/** Options for {@link createOutbox}. */
export interface OutboxOptions {
  /** The durable overflow (from `openSpool`), or null for memory-only operation. */
  spool: Spool | SpoolFile | null;
  /** True when a spool was configured but could not be opened; makes the outbox `degraded`. */
  spoolFailed?: boolean;
  /** Items kept in memory per destination before overflowing to the spool. @default 10000 */
  memoryItems?: number;
  /** Payload bytes over all destinations, memory and spool together. @default 268435456 */
  maxBytes?: number;
  /** Where state changes, rejections and losses are logged. */
  log: Logger;
  /** Clock in epoch ms. @default Date.now */
  now?: () => number;
  /** Jitter source for the backoff. @default Math.random */
  random?: () => number;
  /** Multiplies every computed backoff; tests shorten it. @default 1 */
  backoffScale?: number;
  /** Timers for batching, backoff and spool writes. @default unref'd setTimeout */
  timers?: OutboxTimers;
  /** How long overflow items are buffered before being written to the spool in one transaction. @default 50 */
  spoolFlushMs?: number;
  /** Buffered overflow items that trigger an immediate spool write. @default 1000 */
  spoolFlushItems?: number;
  /** A destination start (database check) pending this long turns write-through on, as a failure does. @default 1000 */
  writeThroughMs?: number;
  /** A send pending this long (hanging, not merely slow) turns write-through on, as a failure does. @default 5000 */
  hangingSendMs?: number;
  /** How often the spool file is checked (deleted, replaced, truncated) and shrunk when drained. @default 2000 */
  watchMs?: number;
}

/** The one outbox shared by every destination (reference §9). */
export interface Outbox {
  /** Starts delivering to `destination`, or swaps in a rebuilt one of the same name, keeping its queue. */
  attach(destination: Destination): void;
  /** Stops delivering to `name`; its remaining items are kept and shown as `disabled`. */
  detach(name: string): void;
  /** Queues serialised items for `name`; synchronous and never waits (datagram hot path). */
  enqueue(name: string, items: string[]): void;
  /** Per-destination figures for /health, /api/stats and /metrics. */
  stats(): Record<string, DestinationStats>;
  /** True when the spool is configured but unusable (memory-only operation) or lost items. */
  readonly degraded: boolean;
  /** Why the outbox is degraded, one sentence each (for /health). */
  problems(): string[];
  /** Payload bytes held, memory and spool together. */
  readonly totalBytes: number;
  /** Delivers for up to `timeoutMs`, then spools what is left and stops; `lost` is what could not be kept. */
  flush(timeoutMs: number): Promise<{ lost: number }>;
  /** Stops delivery, spools what is left in memory, closes attached destinations and the spool. */
  close(): Promise<void>;
}

/** unref'd `setTimeout` timers. */
export const defaultTimers: OutboxTimers = {
  set: (fn, ms) => {
    const timer = setTimeout(fn, ms);
    timer.unref();
    return timer;
  },
  clear: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
};

/** One destination name: its queue, its schedule, and the timer and request in flight. */
export interface Lane {
  queue: LaneQueue;
  schedule: LaneSchedule;
  destination: Destination | null;
  inFlight: Batch | null;
  /** A start or send has been pending too long (`writeThroughMs`, `hangingSendMs`): write through until the next success. */
  slow: boolean;
  starting: Promise<void> | null;
  timer: unknown;
  timerDue: number;
  fire: () => void;
}

/** Options with every default applied. */
export type ResolvedOptions = Required<Omit<OutboxOptions, "spool" | "spoolFailed">>;

/** Applies the defaults documented on {@link OutboxOptions}. */
export function withDefaults(options: OutboxOptions): ResolvedOptions {
  return {
    memoryItems: Math.max(1, options.memoryItems ?? 10_000),
    maxBytes: options.maxBytes ?? 268_435_456,
    log: options.log,
    now: options.now ?? Date.now,
    random: options.random ?? Math.random,
    backoffScale: options.backoffScale ?? 1,
    timers: options.timers ?? defaultTimers,
    spoolFlushMs: options.spoolFlushMs ?? 50,
    spoolFlushItems: options.spoolFlushItems ?? 1000,
    writeThroughMs: options.writeThroughMs ?? 1000,
    hangingSendMs: options.hangingSendMs ?? 5000,
    watchMs: options.watchMs ?? 2000,
  };
}

/** A lane's figures for /api/stats, or null for a detached lane with nothing left. */
export function laneStats(lane: Lane): DestinationStats | null {
  const { queue, schedule } = lane;
  const spool = queue.spoolCount + queue.stranded;
  if (!lane.destination && queue.memoryCount + spool === 0) return null;
  return {
    state: lane.destination ? schedule.state : "disabled",
    queued: { memory: queue.memoryCount, spool },
    enqueued: queue.enqueued,
    sent: queue.sent,
    retries: schedule.retries,
    dropped: { ...queue.dropped },
    lastError: schedule.lastError,
    lastSuccessAt: schedule.lastSuccessAt === null ? null : new Date(schedule.lastSuccessAt).toISOString(),
  };
}
