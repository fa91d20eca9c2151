import { Database, type Statement } from "bun:sqlite";
import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import type { Logger } from "../log.ts";

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
 * The durable part of the outbox (spec §9): one sqlite table shared by every destination, ordered
 * by `seq`. Counts and byte totals are cached in memory, so the read-only methods are O(1).
 * Every method may throw a sqlite error (disk full, file removed); the outbox turns that into
 * memory-only operation.
 */
export interface Spool {
  /** Appends items for `destination` after everything already spooled, in one transaction; `sizes` are their UTF-8 bytes when known. */
  append(destination: string, payloads: string[], sizes?: number[]): void;
  /** Inserts items before everything already spooled (memory items spilled at shutdown), keeping their order. */
  prepend(destination: string, payloads: string[]): void;
  /** The first `n` items of `destination`, in enqueue order. */
  peek(destination: string, n: number): SpoolRow[];
  /** Removes the items of `destination` with `seq <= uptoSeq` (after delivery). */
  remove(destination: string, uptoSeq: number): SpoolRemoval;
  /** Items spooled for `destination`. */
  count(destination: string): number;
  /** Destinations that have spooled items. */
  destinations(): string[];
  /** Payload bytes spooled over all destinations. */
  totalBytes(): number;
  /** Removes the globally oldest item; null when the spool is empty. */
  evictOldest(): { destination: string; bytes: number } | null;
  /** Removes the globally oldest items until at least `bytes` payload bytes are freed, in one transaction. */
  evict(bytes: number): SpoolRemoval[];
  /** Closes the database. */
  close(): void;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS outbox (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  destination TEXT NOT NULL,
  payload TEXT NOT NULL,
  bytes INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS outbox_destination_seq ON outbox (destination, seq);
`;

/** Rows per multi-row INSERT (3 parameters each, well below sqlite's 32766 limit). */
const INSERT_ROWS = 64;

type Totals = { items: number; bytes: number };
type OldestRow = { seq: number; destination: string; bytes: number };

/** The bun:sqlite implementation of {@link Spool}. */
class SqliteSpool implements Spool {
  readonly #db: Database;
  readonly #totals = new Map<string, Totals>();
  #bytes = 0;
  readonly #insert: Statement;
  readonly #insertMany: Statement;
  readonly #insertAt: Statement;
  readonly #minSeq: Statement<{ seq: number | null }>;
  readonly #peek: Statement<SpoolRow>;
  readonly #sumUpto: Statement<{ items: number; bytes: number }>;
  readonly #deleteUpto: Statement;
  readonly #oldest: Statement<OldestRow>;
  readonly #deleteThrough: Statement;

  /** Opens (or creates) the database at `path`; throws when it is unusable. */
  constructor(path: string) {
    this.#db = new Database(path, { create: true, strict: true });
    try {
      this.#db.exec("PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA busy_timeout = 1000;");
      this.#db.exec(SCHEMA);
      const rows = this.#db
        .query<{ destination: string; items: number; bytes: number }, []>(
          "SELECT destination, COUNT(*) AS items, COALESCE(SUM(bytes), 0) AS bytes FROM outbox GROUP BY destination",
        )
        .all();
      for (const row of rows) {
        this.#totals.set(row.destination, { items: row.items, bytes: row.bytes });
        this.#bytes += row.bytes;
      }
      this.#insert = this.#db.prepare("INSERT INTO outbox (destination, payload, bytes) VALUES (?, ?, ?)");
      this.#insertMany = this.#db.prepare(
        `INSERT INTO outbox (destination, payload, bytes) VALUES ${Array(INSERT_ROWS).fill("(?, ?, ?)").join(", ")}`,
      );
      this.#insertAt = this.#db.prepare(
        "INSERT INTO outbox (seq, destination, payload, bytes) VALUES (?, ?, ?, ?)",
      );
      this.#minSeq = this.#db.prepare("SELECT MIN(seq) AS seq FROM outbox");
      this.#peek = this.#db.prepare(
        "SELECT seq, payload FROM outbox WHERE destination = ? ORDER BY seq LIMIT ?",
      );
      this.#sumUpto = this.#db.prepare(
        "SELECT COUNT(*) AS items, COALESCE(SUM(bytes), 0) AS bytes FROM outbox WHERE destination = ? AND seq <= ?",
      );
      this.#deleteUpto = this.#db.prepare("DELETE FROM outbox WHERE destination = ? AND seq <= ?");
      this.#oldest = this.#db.prepare("SELECT seq, destination, bytes FROM outbox ORDER BY seq LIMIT ?");
      this.#deleteThrough = this.#db.prepare("DELETE FROM outbox WHERE seq <= ?");
    } catch (error) {
      this.#db.close();
      throw error;
    }
  }

  append(destination: string, payloads: string[], sizes?: number[]): void {
    const n = payloads.length;
    if (n === 0) return;
    const sizeOf = (i: number): number => sizes?.[i] ?? Buffer.byteLength(payloads[i] as string);
    let bytes = 0;
    this.#db.transaction(() => {
      let i = 0;
      // Rows go in statements of INSERT_ROWS, which cuts sqlite's per-statement overhead for large spills.
      const params = new Array<string | number>(INSERT_ROWS * 3);
      for (; i + INSERT_ROWS <= n; i += INSERT_ROWS) {
        for (let j = 0; j < INSERT_ROWS; j++) {
          const size = sizeOf(i + j);
          params[j * 3] = destination;
          params[j * 3 + 1] = payloads[i + j] as string;
          params[j * 3 + 2] = size;
          bytes += size;
        }
        this.#insertMany.run(...params);
      }
      for (; i < n; i++) {
        const size = sizeOf(i);
        this.#insert.run(destination, payloads[i] as string, size);
        bytes += size;
      }
    })();
    this.#add(destination, n, bytes);
  }

  prepend(destination: string, payloads: string[]): void {
    if (payloads.length === 0) return;
    let bytes = 0;
    this.#db.transaction(() => {
      // Seqs below the current minimum sort before every spooled item; sqlite accepts negative keys.
      const first = (this.#minSeq.get()?.seq ?? 1) - payloads.length;
      for (let i = 0; i < payloads.length; i++) {
        const payload = payloads[i] as string;
        const size = Buffer.byteLength(payload);
        this.#insertAt.run(first + i, destination, payload, size);
        bytes += size;
      }
    })();
    this.#add(destination, payloads.length, bytes);
  }

  peek(destination: string, n: number): SpoolRow[] {
    if (n <= 0 || !this.#totals.has(destination)) return [];
    return this.#peek.all(destination, n);
  }

  remove(destination: string, uptoSeq: number): SpoolRemoval {
    const removed = this.#db.transaction(() => {
      const sum = this.#sumUpto.get(destination, uptoSeq) ?? { items: 0, bytes: 0 };
      if (sum.items > 0) this.#deleteUpto.run(destination, uptoSeq);
      return sum;
    })();
    this.#add(destination, -removed.items, -removed.bytes);
    return { destination, items: removed.items, bytes: removed.bytes };
  }

  count(destination: string): number {
    return this.#totals.get(destination)?.items ?? 0;
  }

  destinations(): string[] {
    return [...this.#totals.keys()];
  }

  totalBytes(): number {
    return this.#bytes;
  }

  evictOldest(): { destination: string; bytes: number } | null {
    const [removal] = this.#evict(1, 1);
    return removal ? { destination: removal.destination, bytes: removal.bytes } : null;
  }

  evict(bytes: number): SpoolRemoval[] {
    return this.#evict(bytes, 512);
  }

  close(): void {
    this.#db.close();
  }

  /** Evicts in chunks of `chunk` oldest rows until `bytes` are freed or the table is empty. */
  #evict(bytes: number, chunk: number): SpoolRemoval[] {
    const byDestination = new Map<string, SpoolRemoval>();
    this.#db.transaction(() => {
      let freed = 0;
      while (freed < bytes) {
        const rows = this.#oldest.all(chunk);
        if (rows.length === 0) break;
        let last = 0;
        for (const row of rows) {
          last = row.seq;
          freed += row.bytes;
          const removal = byDestination.get(row.destination);
          if (removal) {
            removal.items++;
            removal.bytes += row.bytes;
          } else {
            byDestination.set(row.destination, { destination: row.destination, items: 1, bytes: row.bytes });
          }
          if (freed >= bytes) break;
        }
        // Rows come in global seq order, so everything up to `last` is exactly what was counted.
        this.#deleteThrough.run(last);
      }
    })();
    for (const removal of byDestination.values())
      this.#add(removal.destination, -removal.items, -removal.bytes);
    return [...byDestination.values()];
  }

  #add(destination: string, items: number, bytes: number): void {
    const totals = this.#totals.get(destination) ?? { items: 0, bytes: 0 };
    totals.items += items;
    totals.bytes += bytes;
    this.#bytes += bytes;
    if (totals.items <= 0) this.#totals.delete(destination);
    else this.#totals.set(destination, totals);
  }
}

/**
 * Opens the spool file at `path` (WAL, `synchronous=NORMAL`). A file that cannot be opened or is
 * not a sqlite database is logged at error and gives null: the outbox then runs memory-only and
 * reports itself degraded (spec §9 "Bad spool").
 */
export function openSpool(path: string, log: Logger): Spool | null {
  try {
    // A spool folder that does not exist yet is created (issue 10), on every OS.
    mkdirSync(dirname(path), { recursive: true });
    return new SqliteSpool(path);
  } catch (error) {
    log.error(`[outbox] cannot use spool file ${path}, running memory-only: ${(error as Error).message}`);
    return null;
  }
}
