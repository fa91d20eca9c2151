import type { DestinationStats } from "../stats.ts";
import type { Destination, SendResult } from "./destination.ts";
import { LaneQueue, type SpoolAccess } from "./lane-queue.ts";
import { createSpoolGuard, type SpoolGuard } from "./outbox-spool.ts";
import {
  type Lane,
  laneStats,
  type Outbox,
  type OutboxOptions,
  type ResolvedOptions,
  withDefaults,
} from "./outbox-types.ts";
import { LaneSchedule } from "./schedule.ts";

export type { Outbox, OutboxOptions, OutboxTimers } from "./outbox-types.ts";

/** The outbox: owns the timers, the global byte bound and the lanes; see {@link Outbox}. */
class OutboxImpl implements Outbox {
  readonly #lanes = new Map<string, Lane>();
  readonly #o: ResolvedOptions;
  readonly #guard: SpoolGuard;
  #seq = 0;
  #draining = false;
  #stopped = false;
  #onDrained: (() => void) | null = null;

  constructor(options: OutboxOptions) {
    this.#o = withDefaults(options);
    this.#guard = createSpoolGuard({
      spool: options.spool,
      failed: options.spoolFailed ?? false,
      options: this.#o,
      queues: () => [...this.#lanes.values()].map((lane) => lane.queue),
      enforceBound: () => this.#enforceBound(),
      isStopped: () => this.#stopped,
    });
    const spooled = options.spool?.destinations() ?? [];
    for (const name of spooled) this.#lane(name).schedule.oldestAt = Number.NEGATIVE_INFINITY;
    if (spooled.length > 0) this.#o.timers.set(() => this.#reportOrphans(), 0);
    if (this.totalBytes > this.#o.maxBytes) this.#guard.scheduleFlush(true);
  }

  get degraded(): boolean {
    return this.#guard.problems().length > 0;
  }

  problems(): string[] {
    return this.#guard.problems();
  }

  get totalBytes(): number {
    let bytes = this.#guard.access.spool?.totalBytes() ?? 0;
    for (const lane of this.#lanes.values()) bytes += lane.queue.memoryBytes;
    return bytes;
  }

  attach(destination: Destination): void {
    const lane = this.#lane(destination.name);
    lane.destination = destination;
    lane.schedule.reset();
    if (destination.start) {
      const starting = this.#start(destination);
      lane.starting = starting;
      // A slow start (InfluxDB down while the database is checked) writes through like a failure.
      this.#whenSlow(lane, () => lane.starting === starting, this.#o.writeThroughMs);
      void starting.then(() => {
        if (lane.starting === starting) lane.starting = null;
        this.#schedule(lane, this.#o.now());
      });
    }
    this.#schedule(lane, this.#o.now());
  }

  detach(name: string): void {
    const lane = this.#lanes.get(name);
    if (!lane) return;
    lane.destination = null;
    lane.starting = null;
    this.#clearTimer(lane);
    const waiting = lane.queue.waiting;
    if (waiting === 0 && !lane.inFlight) this.#lanes.delete(name);
    else this.#o.log.info(`[outbox] ${name} is no longer configured; keeping its ${waiting} queued items`);
    this.#checkDrained();
  }

  enqueue(name: string, items: string[]): void {
    if (this.#stopped || items.length === 0) return;
    const lane = this.#lane(name);
    const now = this.#o.now();
    const queue = lane.queue;
    if (queue.waiting === 0) lane.schedule.oldestAt = now;
    // While the destination is not delivering (down, backing off, hanging), new items go to disk at once.
    const toSpool =
      lane.destination !== null && (lane.schedule.state !== "up" || lane.starting !== null || lane.slow);
    const memoryItems = Math.max(this.#o.memoryItems, lane.destination?.memoryItems ?? 0);
    for (let i = 0; i < items.length; i++) {
      const item = items[i] as string;
      queue.add(item, this.#seq++, Buffer.byteLength(item), memoryItems, toSpool);
    }
    if (queue.pendingCount > 0) this.#guard.pendingAdded();
    if (this.totalBytes > this.#o.maxBytes) {
      // Spool writes and evictions happen off the datagram path, in the next spool transaction.
      if (this.#guard.access.spool !== null) this.#guard.scheduleFlush(true);
      else this.#enforceBound();
    }
    this.#schedule(lane, now);
  }

  stats(): Record<string, DestinationStats> {
    const out: Record<string, DestinationStats> = {};
    for (const lane of this.#lanes.values()) {
      const stats = laneStats(lane);
      if (stats) out[lane.queue.name] = stats;
    }
    return out;
  }

  async flush(timeoutMs: number): Promise<{ lost: number }> {
    if (this.#stopped) return { lost: 0 };
    this.#draining = true;
    // Outbox timers are unref'd: without this the process would exit before the deadline, spooling nothing.
    const keepAlive = setInterval(() => {}, 60_000);
    await new Promise<void>((resolve) => {
      const deadline = this.#o.timers.set(() => this.#onDrained?.(), timeoutMs);
      this.#onDrained = () => {
        this.#onDrained = null;
        this.#o.timers.clear(deadline);
        resolve();
      };
      for (const lane of this.#lanes.values()) this.#schedule(lane, this.#o.now());
      this.#checkDrained();
    });
    clearInterval(keepAlive);
    return this.#stop();
  }

  async close(): Promise<void> {
    if (!this.#stopped) this.#stop();
    const destinations = [...this.#lanes.values()].flatMap((lane) =>
      lane.destination ? [lane.destination] : [],
    );
    await Promise.all(destinations.map((destination) => destination.close().catch(() => {})));
    this.#guard.close();
  }

  #lane(name: string): Lane {
    const existing = this.#lanes.get(name);
    if (existing) return existing;
    const lane: Lane = {
      queue: new LaneQueue(name, this.#guard.access as SpoolAccess),
      schedule: new LaneSchedule(name, { random: this.#o.random, backoffScale: this.#o.backoffScale }),
      destination: null,
      inFlight: null,
      slow: false,
      starting: null,
      timer: null,
      timerDue: Number.POSITIVE_INFINITY,
      fire: () => {
        lane.timer = null;
        lane.timerDue = Number.POSITIVE_INFINITY;
        void this.#deliver(lane);
      },
    };
    this.#lanes.set(name, lane);
    return lane;
  }

  async #start(destination: Destination): Promise<void> {
    try {
      await destination.start?.();
    } catch (error) {
      this.#o.log.warn(`[outbox] ${destination.name}: start failed: ${(error as Error).message}`);
    }
  }

  /** Turns write-through on if `pending()` still holds after `ms` (a slow answer is no failure); null without a spool. */
  #whenSlow(lane: Lane, pending: () => boolean, ms: number): unknown {
    if (this.#guard.access.spool === null) return null;
    return this.#o.timers.set(() => pending() && this.#writeThrough(lane), ms);
  }

  /** Turns write-through on for a lane: its memory items not in flight go to the spool. */
  #writeThrough(lane: Lane): void {
    if (this.#stopped || this.#guard.access.spool === null) return;
    lane.slow = true;
    // A failed spill already switched the outbox to memory-only.
    lane.queue.spillMemory(lane.inFlight?.lastMemSeq ?? -1);
    this.#guard.scheduleFlush(false);
  }

  /** Sets the lane's timer for its next batch. */
  #schedule(lane: Lane, now: number): void {
    const destination = lane.destination;
    if (this.#stopped || !destination || lane.inFlight || lane.starting) return;
    const due = lane.schedule.due(now, {
      waiting: lane.queue.waiting,
      draining: this.#draining,
      maxBatchItems: destination.maxBatchItems,
      flushIntervalMs: destination.flushIntervalMs,
    });
    if (due === null) return;
    if (lane.timer !== null) {
      if (lane.timerDue <= due) return;
      this.#o.timers.clear(lane.timer);
    }
    lane.timerDue = due;
    lane.timer = this.#o.timers.set(lane.fire, Math.max(0, due - now));
  }

  #clearTimer(lane: Lane): void {
    if (lane.timer === null) return;
    this.#o.timers.clear(lane.timer);
    lane.timer = null;
    lane.timerDue = Number.POSITIVE_INFINITY;
  }

  /** Sends one batch and applies its result. */
  async #deliver(lane: Lane): Promise<void> {
    const destination = lane.destination;
    if (this.#stopped || !destination || lane.inFlight) return;
    const batch = lane.queue.takeBatch(
      lane.schedule.cap(destination.maxBatchItems),
      destination.maxBatchBytes,
    );
    if (!batch) return;
    const startedAt = this.#o.now();
    const leftover = lane.queue.waiting > batch.items.length;
    lane.inFlight = batch;
    const slow = this.#whenSlow(lane, () => lane.inFlight === batch, this.#o.hangingSendMs);
    let result: SendResult;
    try {
      result = await destination.send(batch.items);
    } catch (error) {
      result = { kind: "retry", error: `send threw: ${(error as Error)?.message ?? String(error)}` };
    }
    if (slow !== null) this.#o.timers.clear(slow);
    lane.inFlight = null;
    // After shutdown the queues were spooled as they were; the batch is delivered at least once.
    if (this.#stopped) return;
    const settled = lane.schedule.settle(result, batch.items.length, this.#o.now());
    if (settled.finish) lane.queue.finish(batch, settled.finish.outcome);
    if (settled.log) this.#o.log[settled.log.level](settled.log.message);
    if (lane.schedule.state === "up") lane.slow = false;
    else this.#writeThrough(lane);
    if (settled.finish && lane.queue.waiting > 0 && !leftover) lane.schedule.oldestAt = startedAt;
    this.#schedule(lane, this.#o.now());
    this.#checkDrained();
  }

  /** Evicts the globally oldest items until the byte bound holds: from the spool when it has any, else from memory. */
  #enforceBound(): void {
    while (this.totalBytes > this.#o.maxBytes) {
      if (this.#guard.evictSpool(this.totalBytes - this.#o.maxBytes, (name) => this.#lane(name).queue))
        continue;
      let oldest: Lane | null = null;
      for (const lane of this.#lanes.values()) {
        const seq = lane.queue.oldestMemorySeq;
        if (seq < (oldest?.queue.oldestMemorySeq ?? Number.POSITIVE_INFINITY)) oldest = lane;
      }
      if (!oldest) return;
      oldest.queue.evictOldestMemory();
    }
  }

  #reportOrphans(): void {
    for (const { destination, queue } of this.#lanes.values()) {
      const n = queue.spoolCount;
      const text = `${n} spooled items for ${queue.name}, which is not configured; keeping them`;
      if (!destination && n > 0) this.#o.log.warn(`[outbox] ${text}`);
    }
  }

  #checkDrained(): void {
    if (!this.#onDrained) return;
    for (const lane of this.#lanes.values()) {
      if (lane.destination && (lane.inFlight || lane.queue.waiting > 0)) return;
    }
    this.#onDrained();
  }

  /** Stops every timer and keeps what is left: pending and memory go to the spool, or are lost without one. */
  #stop(): { lost: number } {
    this.#stopped = true;
    for (const lane of this.#lanes.values()) this.#clearTimer(lane);
    this.#guard.stop();
    let lost = 0;
    // Memory items are older than the lane's spooled ones, so they go in front; tail and pending behind.
    for (const lane of this.#lanes.values()) if (lane.queue.spillMemory(-1)) lane.queue.flushPending();
    for (const lane of this.#lanes.values()) lost += lane.queue.discardMemory();
    if (lost > 0)
      this.#o.log.error(`[outbox] shutdown: ${lost} undelivered items could not be spooled and are lost`);
    return { lost };
  }
}

/** Creates the outbox; spooled items from a previous run are delivered once their destination is attached. */
export function createOutbox(options: OutboxOptions): Outbox {
  return new OutboxImpl(options);
}
