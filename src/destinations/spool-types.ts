/** One spooled item as read back for delivery. */
export interface SpoolRow {
  seq: number;
  payload: string;
}

/** Items and payload bytes removed from the spool for one destination. */
export interface SpoolRemoval {
  destination: string;
  items: number;
  bytes: number;
}

/**
 * The durable part of the outbox (reference §9): one sqlite table shared by every destination, ordered
 * by `seq`. Counts and byte totals are cached in memory, so the read-only methods are O(1).
 * Every method may throw a sqlite error (disk full, file removed); the outbox turns that into
 * memory-only operation.
 */
export interface Spool {
  /** Appends items for `destination` after everything already spooled, in one transaction; `sizes` are their UTF-8 bytes when known. */
  append(destination: string, payloads: string[], sizes?: number[]): void;
  /** Inserts items before everything already spooled (memory items spilled), keeping their order. */
  prepend(destination: string, payloads: string[], sizes?: number[]): void;
  /** The first `n` items of `destination`, in enqueue order. */
  peek(destination: string, n: number): SpoolRow[];
  /**
   * Removes the items of `destination` with `seq <= uptoSeq` (after delivery). When the disk is too
   * full to delete, records a delivered mark instead (a write in place, needing no space): marked rows
   * are never read again, and are deleted before the next write or at the next open.
   */
  remove(destination: string, uptoSeq: number): SpoolRemoval;
  /** Items spooled for `destination`. */
  count(destination: string): number;
  /** Destinations that have spooled items. */
  destinations(): string[];
  /** Payload bytes spooled over all destinations. */
  totalBytes(): number;
  /** Removes the globally oldest items until at least `bytes` payload bytes are freed, in one transaction. */
  evict(bytes: number): SpoolRemoval[];
  /** Releases the free pages of an empty spool so the file shrinks after draining. */
  compact(): void;
  /** Bytes of the database file and its WAL on disk. */
  fileBytes(): number;
  /** Closes the database. */
  close(): void;
}
