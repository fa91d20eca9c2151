import type { Logger } from "../log.ts";
import type { DestinationStats } from "../stats.ts";
import { backoffMs, MAX_RETRY_AFTER_MS } from "./backoff.ts";
import type { Destination, SendResult } from "./destination.ts";
import { Fifo, type Lane } from "./outbox-lane.ts";
import type { Spool } from "./spool.ts";

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
  spool: Spool | null;
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
  /** Timers for batching, backoff and spool writes. @default unref'd setTimeout */
  timers?: OutboxTimers;
  /** How long overflow items are buffered before being written to the spool in one transaction. @default 50 */
  spoolFlushMs?: number;
  /** Buffered overflow items that trigger an immediate spool write. @default 1000 */
  spoolFlushItems?: number;
}

/** The one outbox shared by every destination (spec §9). */
export interface Outbox {
  /** Starts delivering to `destination`, or swaps in a rebuilt one of the same name, keeping its queue. */
  attach(destination: Destination): void;
  /** Stops delivering to `name`; its remaining items are kept and shown as `disabled`. */
  detach(name: string): void;
  /** Queues serialised items for `name`; synchronous and never waits (datagram hot path). */
  enqueue(name: string, items: string[]): void;
  /** Per-destination figures for /health, /api/stats and /metrics. */
  stats(): Record<string, DestinationStats>;
  /** True when the spool is configured but unusable (memory-only operation). */
  readonly degraded: boolean;
  /** Payload bytes held, memory and spool together. */
  readonly totalBytes: number;
  /** Delivers for up to `timeoutMs`, then spools what is left and stops; `lost` is what could not be kept. */
  flush(timeoutMs: number): Promise<{ lost: number }>;
  /** Stops delivery, spools what is left in memory, closes attached destinations and the spool. */
  close(): Promise<void>;
}

const defaultTimers: OutboxTimers = {
  set: (fn, ms) => {
    const timer = setTimeout(fn, ms);
    timer.unref();
    return timer;
  },
  clear: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
};

/** The outbox implementation; see {@link Outbox}. */
class OutboxImpl implements Outbox {
  readonly #lanes = new Map<string, Lane>();
  readonly #log: Logger;
  readonly #now: () => number;
  readonly #random: () => number;
  readonly #timers: OutboxTimers;
  readonly #memoryItems: number;
  readonly #maxBytes: number;
  readonly #spoolFlushMs: number;
  readonly #spoolFlushItems: number;
  #spool: Spool | null;
  #degraded: boolean;
  /** Payload bytes in memory and pending queues of every lane. */
  #memBytes = 0;
  #pendingItems = 0;
  #seq = 0;
  #spoolTimer: unknown = null;
  #spoolTimerImmediate = false;
  #draining = false;
  #stopped = false;
  #onDrained: (() => void) | null = null;

  constructor(options: OutboxOptions) {
    this.#spool = options.spool;
    this.#degraded = options.spoolFailed ?? false;
    this.#memoryItems = Math.max(1, options.memoryItems ?? 10_000);
    this.#maxBytes = options.maxBytes ?? 268_435_456;
    this.#log = options.log;
    this.#now = options.now ?? Date.now;
    this.#random = options.random ?? Math.random;
    this.#timers = options.timers ?? defaultTimers;
    this.#spoolFlushMs = options.spoolFlushMs ?? 50;
    this.#spoolFlushItems = options.spoolFlushItems ?? 1000;
    const spooled = this.#spool?.destinations() ?? [];
    for (const name of spooled) this.#lane(name).oldestAt = Number.NEGATIVE_INFINITY;
    if (spooled.length > 0) this.#timers.set(() => this.#reportOrphans(), 0);
    if (this.totalBytes > this.#maxBytes) this.#scheduleSpoolFlush(true);
  }

  get degraded(): boolean {
    return this.#degraded;
  }

  get totalBytes(): number {
    return this.#memBytes + (this.#spool?.totalBytes() ?? 0);
  }

  attach(destination: Destination): void {
    const lane = this.#lane(destination.name);
    lane.destination = destination;
    // A rebuilt destination may have new credentials: try again now rather than after the old backoff.
    lane.attempt = 0;
    lane.retryAt = 0;
    lane.splitCap = Number.POSITIVE_INFINITY;
    lane.splitLeft = 0;
    lane.state = "up";
    if (destination.start) {
      const starting = this.#start(destination);
      lane.starting = starting;
      void starting.then(() => {
        if (lane.starting === starting) lane.starting = null;
        this.#schedule(lane, this.#now());
      });
    }
    this.#schedule(lane, this.#now());
  }

  detach(name: string): void {
    const lane = this.#lanes.get(name);
    if (!lane) return;
    lane.destination = null;
    lane.starting = null;
    this.#clearTimer(lane);
    const waiting = this.#waiting(lane);
    if (waiting === 0 && !lane.inFlight) this.#lanes.delete(name);
    else this.#log.info(`[outbox] ${name} is no longer configured; keeping its ${waiting} queued items`);
    this.#checkDrained();
  }

  enqueue(name: string, items: string[]): void {
    if (this.#stopped || items.length === 0) return;
    const lane = this.#lanes.get(name) ?? this.#lane(name);
    const now = this.#now();
    if (this.#waiting(lane) === 0) lane.oldestAt = now;
    const spool = this.#spool;
    // Once anything is spooled, later items must queue behind it to keep enqueue order.
    let spilling = lane.pending.length > 0 || (spool !== null && spool.count(name) > 0);
    for (let i = 0; i < items.length; i++) {
      const item = items[i] as string;
      const size = Buffer.byteLength(item);
      this.#memBytes += size;
      if (!spilling && lane.memory.length < this.#memoryItems) {
        lane.memory.push(item, this.#seq++, size);
      } else if (spool !== null) {
        spilling = true;
        lane.pending.push(item, this.#seq++, size);
        this.#pendingItems++;
      } else {
        this.#memBytes -= lane.memory.shift();
        lane.overflow++;
        lane.memory.push(item, this.#seq++, size);
      }
    }
    if (this.#pendingItems > 0) this.#scheduleSpoolFlush(this.#pendingItems >= this.#spoolFlushItems);
    if (this.#memBytes > this.#maxBytes || (spool !== null && this.totalBytes > this.#maxBytes)) {
      this.#enforceBound(false);
    }
    this.#schedule(lane, now);
  }

  stats(): Record<string, DestinationStats> {
    const out: Record<string, DestinationStats> = {};
    for (const lane of this.#lanes.values()) {
      const spooled = lane.pending.length + (this.#spool?.count(lane.name) ?? 0);
      if (!lane.destination && lane.memory.length + spooled === 0) continue;
      out[lane.name] = {
        state: lane.destination ? lane.state : "disabled",
        queued: { memory: lane.memory.length, spool: spooled },
        sent: lane.sent,
        retries: lane.retries,
        dropped: { overflow: lane.overflow, rejected: lane.rejected },
        lastError: lane.lastError,
        lastSuccessAt: lane.lastSuccessAt,
      };
    }
    return out;
  }

  async flush(timeoutMs: number): Promise<{ lost: number }> {
    if (this.#stopped) return { lost: 0 };
    this.#draining = true;
    // Every outbox timer is unref'd: once UDP and the API are closed at shutdown, nothing else keeps
    // the process alive, and it would exit before the deadline without spooling anything.
    const keepAlive = setInterval(() => {}, 60_000);
    await new Promise<void>((resolve) => {
      const deadline = this.#timers.set(() => this.#onDrained?.(), timeoutMs);
      this.#onDrained = () => {
        this.#onDrained = null;
        this.#timers.clear(deadline);
        resolve();
      };
      for (const lane of this.#lanes.values()) this.#schedule(lane, this.#now());
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
    try {
      this.#spool?.close();
    } catch {
      // Closing is best effort: the data is already committed.
    }
  }

  #lane(name: string): Lane {
    const existing = this.#lanes.get(name);
    if (existing) return existing;
    const lane: Lane = {
      name,
      destination: null,
      memory: new Fifo(),
      pending: new Fifo(),
      state: "up",
      sent: 0,
      retries: 0,
      overflow: 0,
      rejected: 0,
      lastError: null,
      lastSuccessAt: null,
      inFlight: false,
      starting: null,
      timer: null,
      timerDue: Number.POSITIVE_INFINITY,
      fire: () => {
        lane.timer = null;
        lane.timerDue = Number.POSITIVE_INFINITY;
        void this.#deliver(lane);
      },
      attempt: 0,
      retryAt: 0,
      oldestAt: Number.POSITIVE_INFINITY,
      splitCap: Number.POSITIVE_INFINITY,
      splitLeft: 0,
    };
    this.#lanes.set(name, lane);
    return lane;
  }

  async #start(destination: Destination): Promise<void> {
    try {
      await destination.start?.();
    } catch (error) {
      this.#log.warn(`[outbox] ${destination.name}: start failed: ${(error as Error).message}`);
    }
  }

  #waiting(lane: Lane): number {
    return lane.memory.length + lane.pending.length + (this.#spool?.count(lane.name) ?? 0);
  }

  /** Sets the lane's timer for its next batch: at once when full or draining, after the flush interval or backoff otherwise. */
  #schedule(lane: Lane, now: number): void {
    const destination = lane.destination;
    if (this.#stopped || !destination || lane.inFlight || lane.starting) return;
    const waiting = this.#waiting(lane);
    if (waiting === 0) return;
    let due: number;
    if (lane.retryAt > now) due = lane.retryAt;
    else if (this.#draining || waiting >= destination.maxBatchItems) due = now;
    else due = lane.oldestAt + destination.flushIntervalMs;
    if (lane.timer !== null) {
      if (lane.timerDue <= due) return;
      this.#timers.clear(lane.timer);
    }
    lane.timerDue = due;
    lane.timer = this.#timers.set(lane.fire, Math.max(0, due - now));
  }

  #clearTimer(lane: Lane): void {
    if (lane.timer === null) return;
    this.#timers.clear(lane.timer);
    lane.timer = null;
    lane.timerDue = Number.POSITIVE_INFINITY;
  }

  /** Sends one batch: memory first, then the oldest spooled items, within the destination's limits. */
  async #deliver(lane: Lane): Promise<void> {
    const destination = lane.destination;
    if (this.#stopped || !destination || lane.inFlight) return;
    // Overflow still waiting for its transaction is next in line once nothing is spooled before it.
    if (lane.pending.length > 0 && this.#spool?.count(lane.name) === 0) this.#flushSpool(false);
    const cap = Math.min(destination.maxBatchItems, lane.splitCap);
    const items: string[] = [];
    let bytes = 0;
    let full = false;
    let lastMemSeq = -1;
    let lastSpoolSeq: number | null = null;
    const memory = lane.memory;
    for (let i = memory.head; i < memory.items.length && items.length < cap; i++) {
      const size = memory.sizes[i] as number;
      if (items.length > 0 && bytes + size > destination.maxBatchBytes) {
        full = true;
        break;
      }
      items.push(memory.items[i] as string);
      bytes += size;
      lastMemSeq = memory.seqs[i] as number;
    }
    if (!full && items.length < cap && this.#spool) {
      for (const row of this.#spoolCall((spool) => spool.peek(lane.name, cap - items.length)) ?? []) {
        const size = Buffer.byteLength(row.payload);
        if (items.length > 0 && bytes + size > destination.maxBatchBytes) break;
        items.push(row.payload);
        bytes += size;
        lastSpoolSeq = row.seq;
      }
    }
    if (items.length === 0) return;
    const startedAt = this.#now();
    const leftover = this.#waiting(lane) > items.length;
    lane.inFlight = true;
    let result: SendResult;
    try {
      result = await destination.send(items);
    } catch (error) {
      result = { kind: "retry", error: `send threw: ${(error as Error)?.message ?? String(error)}` };
    }
    lane.inFlight = false;
    // After shutdown the queues were spooled as they were; the batch is delivered at least once.
    if (this.#stopped) return;
    this.#handle(lane, items.length, lastMemSeq, lastSpoolSeq, result);
    if (result.kind === "ok" && this.#waiting(lane) > 0 && !leftover) lane.oldestAt = startedAt;
    this.#schedule(lane, this.#now());
    this.#checkDrained();
  }

  /** Applies one send result (spec §9 result classes). */
  #handle(lane: Lane, n: number, lastMemSeq: number, lastSpoolSeq: number | null, result: SendResult): void {
    const name = lane.name;
    switch (result.kind) {
      case "ok":
        this.#remove(lane, lastMemSeq, lastSpoolSeq);
        lane.sent += n;
        lane.lastSuccessAt = new Date(this.#now()).toISOString();
        lane.attempt = 0;
        lane.retryAt = 0;
        this.#passedSplit(lane, n);
        if (lane.state !== "up") this.#log.info(`[outbox] ${name}: delivering again`);
        lane.state = "up";
        return;
      case "retry":
      case "blocked": {
        lane.retries++;
        lane.attempt++;
        lane.lastError = result.error;
        const delay =
          result.retryAfterMs !== undefined
            ? Math.min(MAX_RETRY_AFTER_MS, Math.max(0, result.retryAfterMs))
            : backoffMs(lane.attempt, this.#random);
        lane.retryAt = this.#now() + delay;
        const state = result.kind === "blocked" ? "blocked" : "retrying";
        // Compare states, not result kinds ("retry" vs "retrying"), so each outage is logged once.
        if (lane.state !== state) {
          if (result.kind === "blocked") {
            this.#log.error(
              `[outbox] ${name}: refused (blocked), keeping items and retrying: ${result.error}`,
            );
          } else {
            this.#log.warn(`[outbox] ${name}: delivery failed, retrying: ${result.error}`);
          }
        }
        lane.state = state;
        return;
      }
      case "too_large":
        if (n > 1) {
          // Halve until the batch fits; the limit holds until every item of the refused batch has passed.
          lane.splitCap = Math.ceil(n / 2);
          lane.splitLeft = Math.max(lane.splitLeft, n);
          return;
        }
        this.#reject(lane, n, lastMemSeq, lastSpoolSeq, result.error);
        return;
      case "rejected":
        this.#reject(lane, n, lastMemSeq, lastSpoolSeq, result.error);
        return;
    }
  }

  #reject(lane: Lane, n: number, lastMemSeq: number, lastSpoolSeq: number | null, error: string): void {
    this.#remove(lane, lastMemSeq, lastSpoolSeq);
    lane.rejected += n;
    lane.lastError = error;
    this.#passedSplit(lane, n);
    this.#log.error(`[outbox] ${lane.name}: dropped ${n} rejected items: ${error.slice(0, 512)}`);
  }

  #passedSplit(lane: Lane, n: number): void {
    if (lane.splitLeft === 0) return;
    lane.splitLeft = Math.max(0, lane.splitLeft - n);
    if (lane.splitLeft === 0) lane.splitCap = Number.POSITIVE_INFINITY;
  }

  /** Removes a finished batch; by sequence number, since evictions may have shifted the queue meanwhile. */
  #remove(lane: Lane, lastMemSeq: number, lastSpoolSeq: number | null): void {
    const memory = lane.memory;
    while (memory.length > 0 && memory.firstSeq() <= lastMemSeq) this.#memBytes -= memory.shift();
    if (lastSpoolSeq !== null) this.#spoolCall((spool) => spool.remove(lane.name, lastSpoolSeq));
  }

  /** Evicts the globally oldest items until the byte bound holds: from the spool when it has any, else from memory. */
  #enforceBound(inSpoolFlush: boolean): void {
    while (this.totalBytes > this.#maxBytes) {
      const spool = this.#spool;
      if (spool && (spool.totalBytes() > 0 || this.#pendingItems > 0)) {
        // Spool writes and evictions happen off the datagram path, in the next spool transaction.
        if (!inSpoolFlush) {
          this.#scheduleSpoolFlush(true);
          return;
        }
        const removals = this.#spoolCall((s) => s.evict(this.totalBytes - this.#maxBytes));
        for (const removal of removals ?? []) this.#lane(removal.destination).overflow += removal.items;
        if (removals && removals.length > 0) continue;
      }
      let oldest: Lane | null = null;
      for (const lane of this.#lanes.values()) {
        if (lane.memory.firstSeq() < (oldest?.memory.firstSeq() ?? Number.POSITIVE_INFINITY)) oldest = lane;
      }
      if (!oldest) return;
      this.#memBytes -= oldest.memory.shift();
      oldest.overflow++;
    }
  }

  #scheduleSpoolFlush(immediate: boolean): void {
    if (this.#stopped || !this.#spool) return;
    if (this.#spoolTimer !== null) {
      if (!immediate || this.#spoolTimerImmediate) return;
      this.#timers.clear(this.#spoolTimer);
    }
    this.#spoolTimerImmediate = immediate;
    this.#spoolTimer = this.#timers.set(() => this.#flushSpool(true), immediate ? 0 : this.#spoolFlushMs);
  }

  /** Writes every lane's pending overflow to the spool, one transaction per lane, then applies the bound. */
  #flushSpool(enforce: boolean): void {
    if (this.#spoolTimer !== null) this.#timers.clear(this.#spoolTimer);
    this.#spoolTimer = null;
    for (const lane of this.#lanes.values()) {
      if (lane.pending.length === 0) continue;
      const written = this.#spoolCall((spool) => {
        spool.append(lane.name, lane.pending.view(), lane.pending.sizes.slice(lane.pending.head));
        return true;
      });
      if (written === undefined) break;
      this.#memBytes -= lane.pending.bytes;
      this.#pendingItems -= lane.pending.length;
      lane.pending.clear();
    }
    if (enforce) this.#enforceBound(true);
  }

  /**
   * Runs a spool operation; on a sqlite error switches to memory-only operation and returns undefined
   * (operations without a value return `true` so failure stays distinguishable).
   */
  #spoolCall<T>(op: (spool: Spool) => T): T | undefined {
    const spool = this.#spool;
    if (!spool) return undefined;
    try {
      return op(spool);
    } catch (error) {
      this.#log.error(`[outbox] spool failed, continuing memory-only: ${(error as Error).message}`);
      this.#spool = null;
      this.#degraded = true;
      // Pending overflow is newer than memory, so appending it keeps each lane's order.
      for (const lane of this.#lanes.values()) {
        const pending = lane.pending;
        for (let i = pending.head; i < pending.items.length; i++) {
          lane.memory.push(pending.items[i] as string, pending.seqs[i] as number, pending.sizes[i] as number);
        }
        pending.clear();
      }
      this.#pendingItems = 0;
      try {
        spool.close();
      } catch {
        // Already broken.
      }
      return undefined;
    }
  }

  #reportOrphans(): void {
    for (const lane of this.#lanes.values()) {
      const spooled = this.#spool?.count(lane.name) ?? 0;
      if (lane.destination || spooled === 0) continue;
      this.#log.warn(
        `[outbox] ${spooled} spooled items for ${lane.name}, which is not configured; keeping them`,
      );
    }
  }

  #checkDrained(): void {
    if (!this.#onDrained) return;
    for (const lane of this.#lanes.values()) {
      if (lane.destination && (lane.inFlight || this.#waiting(lane) > 0)) return;
    }
    this.#onDrained();
  }

  /** Stops every timer and keeps what is left: pending and memory go to the spool, or are lost without one. */
  #stop(): { lost: number } {
    this.#stopped = true;
    for (const lane of this.#lanes.values()) this.#clearTimer(lane);
    this.#flushSpool(false);
    for (const lane of this.#lanes.values()) {
      if (lane.memory.length === 0) continue;
      // Memory items are older than the lane's spooled ones, so they go in front.
      const written = this.#spoolCall((spool) => {
        spool.prepend(lane.name, lane.memory.view());
        return true;
      });
      if (written === undefined) break;
      this.#memBytes -= lane.memory.bytes;
      lane.memory.clear();
    }
    let lost = 0;
    for (const lane of this.#lanes.values()) {
      lost += lane.memory.length + lane.pending.length;
      lane.memory.clear();
      lane.pending.clear();
    }
    this.#memBytes = 0;
    if (lost > 0)
      this.#log.error(`[outbox] shutdown: ${lost} undelivered items could not be spooled and are lost`);
    return { lost };
  }
}

/** Creates the outbox; spooled items from a previous run are delivered once their destination is attached. */
export function createOutbox(options: OutboxOptions): Outbox {
  return new OutboxImpl(options);
}
