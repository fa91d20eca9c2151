import { Fifo } from "./fifo.ts";
import type { Spool } from "./spool.ts";

/** The shared spool as a lane queue sees it: `call` gives undefined when sqlite failed (the outbox handles that). */
export interface SpoolAccess {
  /** The open spool, or null when running memory-only. */
  readonly spool: Spool | null;
  /** Changes whenever the spool file is replaced, so a batch read from the old one is not removed from the new one. */
  readonly generation: number;
  /** Runs a spool operation; undefined when it failed. */
  call<T>(op: (spool: Spool) => T): T | undefined;
}

/** Reasons an item leaves a queue without being delivered (reference §9). */
export type DropCounts = {
  /** Evicted by `memoryItems` (without a spool) or by the `maxBytes` bound. */
  overflow: number;
  /** Refused by the destination (4xx, single item still too large, points of a partial write). */
  rejected: number;
  /** Refused by InfluxDB's `max-values-per-tag` limit (too many distinct tag values). */
  cardinality: number;
  /** On a spool file that was deleted, truncated, replaced or corrupted. */
  spool_lost: number;
};

/** One batch taken for sending; removal is by sequence number, since evictions may shift the queue meanwhile. */
export interface Batch {
  items: string[];
  /** Sequence number of the last memory item in the batch (-1 for none). */
  lastMemSeq: number;
  /** Spool `seq` of the last spooled item in the batch, or null for none. */
  lastSpoolSeq: number | null;
  /** The spool generation the spooled items were read from. */
  generation: number;
}

/** How a finished batch is counted: how many of its items were dropped, and under which reason. */
export interface BatchOutcome {
  dropped: number;
  reason: "rejected" | "cardinality";
}

/**
 * The items of one destination, oldest first: memory, then the spool, then `tail` (memory behind a
 * spool backlog while the destination delivers), then `pending` (written to the spool in the next
 * transaction; `tail` is empty while `pending` holds items). Counts are exact:
 * `enqueued = sent + dropped + queued` at all times, and `spoolCount` is what is committed on disk.
 */
export class LaneQueue {
  readonly #memory = new Fifo();
  readonly #tail = new Fifo();
  readonly #pending = new Fifo();
  readonly #store: SpoolAccess;
  enqueued = 0;
  sent = 0;
  /** Items left on disk in a spool that failed (kept for the next start), shown as queued in the spool. */
  stranded = 0;
  readonly dropped: DropCounts = { overflow: 0, rejected: 0, cardinality: 0, spool_lost: 0 };

  constructor(
    readonly name: string,
    store: SpoolAccess,
  ) {
    this.#store = store;
  }

  /** Items held in memory, including those waiting for their spool transaction. */
  get memoryCount(): number {
    return this.#memory.length + this.#tail.length + this.#pending.length;
  }

  /** Items committed to the spool file. */
  get spoolCount(): number {
    return this.#store.spool?.count(this.name) ?? 0;
  }

  /** Items waiting, every tier together. */
  get waiting(): number {
    return this.memoryCount + this.spoolCount;
  }

  /** Payload bytes held in memory (memory, tail and pending). */
  get memoryBytes(): number {
    return this.#memory.bytes + this.#tail.bytes + this.#pending.bytes;
  }

  /** Items waiting for a spool transaction. */
  get pendingCount(): number {
    return this.#pending.length;
  }

  /** Sequence number of the oldest memory or tail item (Infinity when empty), for the global eviction order. */
  get oldestMemorySeq(): number {
    return this.#memory.length > 0 ? this.#memory.firstSeq() : this.#tail.firstSeq();
  }

  /**
   * Adds one item. With a spool: to the spool (via `pending`) when `toSpool` (write-through) or when
   * memory and tail hold `memoryItems`; else to memory, or to the tail when a spool backlog is before
   * it. Without a spool a full memory evicts its oldest.
   */
  add(item: string, seq: number, size: number, memoryItems: number, toSpool: boolean): void {
    this.enqueued++;
    if (this.#store.spool === null) {
      if (this.#memory.length >= memoryItems) this.evictOldestMemory();
      this.#memory.push(item, seq, size);
    } else if (
      toSpool ||
      this.#pending.length > 0 ||
      this.#memory.length + this.#tail.length >= memoryItems
    ) {
      this.spillTail();
      this.#pending.push(item, seq, size);
    } else if (this.#tail.length > 0 || this.spoolCount > 0) {
      this.#tail.push(item, seq, size);
    } else {
      this.#memory.push(item, seq, size);
    }
  }

  /** Drops the oldest memory item (or, with memory empty, the oldest tail item) as overflow. */
  evictOldestMemory(): void {
    const fifo = this.#memory.length > 0 ? this.#memory : this.#tail;
    if (fifo.length === 0) return;
    fifo.shift();
    this.dropped.overflow++;
  }

  /** Moves the tail into `pending`, so that it reaches the spool in the next transaction. */
  spillTail(): void {
    // Order holds: `pending` is empty whenever the tail has items.
    this.#tail.moveTo(this.#pending);
  }

  /** Takes the next batch: memory first, then the oldest spooled items, within `cap` items and `maxBytes`. */
  takeBatch(cap: number, maxBytes: number): Batch | null {
    if (this.spoolCount === 0) {
      // Once nothing is spooled before them, the tail joins memory, and overflow still waiting for
      // its transaction is next in line.
      this.#tail.moveTo(this.#memory);
      if (this.#pending.length > 0) this.flushPending();
    }
    const { items, bytes: memoryBytes, lastSeq: lastMemSeq, full } = this.#memory.batch(cap, maxBytes);
    let bytes = memoryBytes;
    let lastSpoolSeq: number | null = null;
    if (!full && items.length < cap && this.spoolCount > 0) {
      for (const row of this.#store.call((spool) => spool.peek(this.name, cap - items.length)) ?? []) {
        const size = Buffer.byteLength(row.payload);
        if (items.length > 0 && bytes + size > maxBytes) break;
        items.push(row.payload);
        bytes += size;
        lastSpoolSeq = row.seq;
      }
    }
    if (items.length === 0) return null;
    return { items, lastMemSeq, lastSpoolSeq, generation: this.#store.generation };
  }

  /**
   * Removes a finished batch and counts the items still present (not evicted meanwhile) once: as sent,
   * or up to `outcome.dropped` of them under `outcome.reason`.
   */
  finish(batch: Batch, outcome: BatchOutcome | null): void {
    let removed = this.#memory.shiftThrough(batch.lastMemSeq);
    // Items read from a spool file since lost were counted as spool_lost with it.
    if (batch.lastSpoolSeq !== null && batch.generation === this.#store.generation) {
      const seq = batch.lastSpoolSeq;
      removed += this.#store.call((spool) => spool.remove(this.name, seq).items) ?? 0;
    }
    const dropped = Math.min(removed, outcome?.dropped ?? 0);
    if (outcome) this.dropped[outcome.reason] += dropped;
    this.sent += removed - dropped;
  }

  /** Writes pending items to the spool in one transaction; false when the spool failed. */
  flushPending(): boolean {
    const pending = this.#pending;
    if (pending.length === 0) return true;
    const written = this.#store.call((spool) => {
      const { items, sizes } = pending.view();
      spool.append(this.name, items, sizes);
      return true;
    });
    if (written === undefined) return false;
    pending.clear();
    return true;
  }

  /**
   * Write-through: moves memory items newer than `afterSeq` (those not in flight) in front of the
   * spooled ones, and the tail to `pending`; false when the spool failed.
   */
  spillMemory(afterSeq: number): boolean {
    if (this.#store.spool === null) return true;
    this.spillTail();
    if (this.#memory.length === 0) return true;
    const { items, sizes } = this.#memory.after(afterSeq);
    if (items.length === 0) return true;
    const written = this.#store.call((spool) => {
      spool.prepend(this.name, items, sizes);
      return true;
    });
    // Taken off memory only once committed, so a failure leaves memory (and its order) as it was.
    if (written !== undefined) this.#memory.takeAfter(afterSeq);
    return written !== undefined;
  }

  /** After the spool failed: tail and pending items go back to memory, behind it, keeping the order. */
  unspoolPending(): void {
    this.#tail.moveTo(this.#memory);
    this.#pending.moveTo(this.#memory);
  }

  /** Counts `items` spooled items as lost with the spool file. */
  spoolLost(items: number): void {
    this.dropped.spool_lost += items;
  }

  /** Empties memory and pending (shutdown without a spool); returns how many items were held. */
  discardMemory(): number {
    const n = this.memoryCount;
    this.#memory.clear();
    this.#tail.clear();
    this.#pending.clear();
    return n;
  }
}
