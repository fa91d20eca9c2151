import type { DestinationState } from "../stats.ts";
import type { Destination } from "./destination.ts";

/** A FIFO of items with their outbox sequence numbers and byte sizes; amortised O(1) push and shift. */
export class Fifo {
  items: string[] = [];
  seqs: number[] = [];
  sizes: number[] = [];
  head = 0;
  bytes = 0;

  get length(): number {
    return this.items.length - this.head;
  }

  push(item: string, seq: number, size: number): void {
    this.items.push(item);
    this.seqs.push(seq);
    this.sizes.push(size);
    this.bytes += size;
  }

  /** Removes the oldest item and returns its size. */
  shift(): number {
    const size = this.sizes[this.head] as number;
    this.items[this.head] = "";
    this.head++;
    this.bytes -= size;
    if (this.head === this.items.length) this.clear();
    else if (this.head >= 4096 && this.head * 2 >= this.items.length) {
      this.items = this.items.slice(this.head);
      this.seqs = this.seqs.slice(this.head);
      this.sizes = this.sizes.slice(this.head);
      this.head = 0;
    }
    return size;
  }

  /** Sequence number of the oldest item (Infinity when empty). */
  firstSeq(): number {
    return this.length > 0 ? (this.seqs[this.head] as number) : Number.POSITIVE_INFINITY;
  }

  view(): string[] {
    return this.items.slice(this.head);
  }

  clear(): void {
    this.items = [];
    this.seqs = [];
    this.sizes = [];
    this.head = 0;
    this.bytes = 0;
  }
}

/** Queue, worker state and counters of one destination name. */
export interface Lane {
  name: string;
  destination: Destination | null;
  /** Oldest items, delivered first. */
  memory: Fifo;
  /** Overflow waiting for the next spool transaction; newer than everything spooled. */
  pending: Fifo;
  state: Exclude<DestinationState, "disabled">;
  sent: number;
  retries: number;
  overflow: number;
  rejected: number;
  lastError: string | null;
  lastSuccessAt: string | null;
  inFlight: boolean;
  starting: Promise<void> | null;
  timer: unknown;
  timerDue: number;
  fire: () => void;
  attempt: number;
  retryAt: number;
  /** Enqueue time of the oldest unsent item (or earlier, never later). */
  oldestAt: number;
  /** Batch size limit after a 413, and how many items still have to pass under it. */
  splitCap: number;
  splitLeft: number;
}
