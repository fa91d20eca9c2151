import type { Logger } from "../log.ts";
import type { DestinationStats } from "../stats.ts";
import type { Destination } from "./destination.ts";
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
  /** A send pending this long turns write-through on, as a failure does. @default 1000 */
  writeThroughMs?: number;
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
