import type { Logger } from "../log.ts";
import type { LaneQueue, SpoolAccess } from "./lane-queue.ts";
import type { OutboxTimers } from "./outbox-types.ts";
import type { Spool } from "./spool.ts";
import { isCorrupt } from "./spool-errors.ts";
import type { SpoolFile } from "./spool-file.ts";

/** A drained spool file bigger than this is compacted so it shrinks. */
const COMPACT_BYTES = 1024 * 1024;

function isFile(spool: Spool): spool is SpoolFile {
  return "recreate" in spool;
}

/** Options for {@link createSpoolGuard}. */
export interface SpoolGuardOptions {
  spool: Spool | SpoolFile | null;
  /** The spool was configured but could not be opened. */
  failed: boolean;
  options: {
    log: Logger;
    now: () => number;
    timers: OutboxTimers;
    spoolFlushMs: number;
    spoolFlushItems: number;
    watchMs: number;
  };
  /** Every lane's queue. */
  queues: () => LaneQueue[];
  /** Applies the byte bound (evicting spooled items first); called after each spool transaction. */
  enforceBound: () => void;
  isStopped: () => boolean;
}

/** The outbox's side of the spool: batched writes, failures, the file watch and the reasons for /health. */
export interface SpoolGuard {
  /** What lane queues use to reach the spool. */
  readonly access: SpoolAccess;
  /** Why the spool is degraded or lost items, one sentence each. */
  problems(): string[];
  /** Schedules the write of pending items (at once when many are waiting); the outbox calls it only when the lane it added to has pending items. */
  pendingAdded(): void;
  /** Schedules a spool transaction: at once, or after `spoolFlushMs`. */
  scheduleFlush(immediate: boolean): void;
  /** Evicts at least `bytes` of the oldest spooled items as overflow; false when nothing was evicted. */
  evictSpool(bytes: number, queueOf: (destination: string) => LaneQueue): boolean;
  /** Checks the file a last time and stops the timers (shutdown). */
  stop(): void;
  /** Closes the spool. */
  close(): void;
}

/** Creates the spool guard: every spool operation goes through its `access.call`, which turns sqlite errors into a state. */
export function createSpoolGuard(g: SpoolGuardOptions): SpoolGuard {
  const { log, now, timers } = g.options;
  let spool = g.spool;
  let generation = 0;
  let flushTimer: unknown = null;
  let flushImmediate = false;
  let watchTimer: unknown = null;
  let suspended: SpoolFile | null = null;
  let suspendedProblem = "";
  const problems: string[] = g.failed ? ["the spool file could not be opened: running memory-only"] : [];

  const access = {
    get spool() {
      return spool;
    },
    get generation() {
      return generation;
    },
    call<T>(op: (s: Spool) => T): T | undefined {
      const current = spool;
      if (!current) return undefined;
      try {
        return op(current);
      } catch (error) {
        // A file deleted or damaged meanwhile is lost, whatever error the write gave.
        const problem = "check" in current ? current.check() : null;
        if (problem !== null) lost(current as SpoolFile, problem);
        else if (isCorrupt(error) && "recreate" in current)
          lost(current, `failed: ${(error as Error).message}`);
        else memoryOnly(current, error as Error);
        return undefined;
      }
    },
  };

  /** The file is gone or damaged: count its items as lost, move it aside and start an empty one. */
  function lost(file: SpoolFile, problem: string): void {
    let total = 0;
    for (const queue of g.queues()) {
      const n = queue.spoolCount;
      queue.spoolLost(n);
      total += n;
    }
    generation++;
    let aside: string;
    try {
      aside = file.recreate();
    } catch (error) {
      spool = null;
      const message = `spool file ${file.path} ${problem}; ${total} spooled items lost (dropped.spool_lost); a new spool could not be created (${(error as Error).message}): running memory-only`;
      log.error(`[outbox] ${message}`);
      problems.push(message);
      for (const queue of g.queues()) queue.unspoolPending();
      return;
    }
    const message = `spool file ${file.path} ${problem}: ${total} spooled items lost (dropped.spool_lost); moved aside to ${aside}; continuing with an empty spool`;
    log.error(`[outbox] ${message}`);
    problems.push(`${new Date(now()).toISOString()}: ${message}`);
  }

  /** A write failed (disk full, permissions): keep what is on disk, carry on in memory, and retry the file on each watch. */
  function memoryOnly(current: Spool, error: Error): void {
    let kept = 0;
    for (const queue of g.queues()) {
      queue.stranded += queue.spoolCount;
      kept += queue.spoolCount;
      queue.unspoolPending();
    }
    spool = null;
    generation++;
    if (isFile(current)) {
      current.suspend();
      suspended = current;
    } else {
      try {
        current.close();
      } catch {
        // Already broken.
      }
    }
    const message = `spool failed, continuing memory-only: ${error.message}; ${kept} spooled items stay on disk`;
    // A disk that stays full fails again after each resume: say it once per outage.
    if (!problems.includes(message)) log.error(`[outbox] ${message}`);
    suspendedProblem = message;
    if (!problems.includes(message)) problems.push(message);
  }

  /** Reopens a suspended spool once its file can be used again; its kept items are then delivered. */
  function resume(): void {
    const file = suspended;
    if (!file) return;
    try {
      file.resume();
    } catch {
      return;
    }
    suspended = null;
    spool = file;
    generation++;
    for (const queue of g.queues()) queue.stranded = 0;
    const index = problems.indexOf(suspendedProblem);
    if (index >= 0) problems.splice(index, 1);
    log.info(`[outbox] spool file ${file.path} is writable again`);
  }

  /** Checks the file on disk; a lost file is replaced before anything more is written into it. */
  function verify(): void {
    const current = spool;
    if (!current || !("check" in current)) return;
    const problem = current.check();
    if (problem !== null) lost(current, problem);
  }

  function flush(): void {
    if (flushTimer !== null) timers.clear(flushTimer);
    flushTimer = null;
    verify();
    for (const queue of g.queues()) if (!queue.flushPending()) break;
    g.enforceBound();
  }

  function watch(): void {
    watchTimer = null;
    if (g.isStopped()) return;
    if (!spool) resume();
    watchTimer = timers.set(watch, g.options.watchMs);
    const current = spool;
    if (!current) return;
    verify();
    if (spool === current && current.totalBytes() === 0 && current.fileBytes() > COMPACT_BYTES)
      access.call((s) => s.compact());
  }
  if (spool) watchTimer = timers.set(watch, g.options.watchMs);

  const guard: SpoolGuard = {
    access,
    problems: () => [...problems],
    pendingAdded() {
      let pending = 0;
      for (const queue of g.queues()) pending += queue.pendingCount;
      if (pending > 0) guard.scheduleFlush(pending >= g.options.spoolFlushItems);
    },
    scheduleFlush(immediate) {
      if (g.isStopped() || !spool) return;
      if (flushTimer !== null) {
        if (!immediate || flushImmediate) return;
        timers.clear(flushTimer);
      }
      flushImmediate = immediate;
      flushTimer = timers.set(flush, immediate ? 0 : g.options.spoolFlushMs);
    },
    evictSpool(bytes, queueOf) {
      if (!spool || spool.totalBytes() === 0) return false;
      const removals = access.call((s) => s.evict(bytes)) ?? [];
      for (const removal of removals) queueOf(removal.destination).dropped.overflow += removal.items;
      return removals.length > 0;
    },
    stop() {
      verify();
      if (flushTimer !== null) timers.clear(flushTimer);
      if (watchTimer !== null) timers.clear(watchTimer);
      flushTimer = null;
      watchTimer = null;
    },
    close() {
      guard.stop();
      try {
        (spool ?? suspended)?.close();
      } catch {
        // Closing is best effort: the data is already committed.
      }
    },
  };
  return guard;
}
