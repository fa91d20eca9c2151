import { Database, type Statement } from "bun:sqlite";
import { statSync } from "node:fs";
import { isDiskFull, SpoolCorruptError, type SpoolFaults } from "./spool-errors.ts";
import { DeliveredMarks } from "./spool-marks.ts";
import type { Spool, SpoolRemoval, SpoolRow } from "./spool-types.ts";

export type { Spool, SpoolRemoval, SpoolRow } from "./spool-types.ts";

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
  readonly #path: string;
  readonly #faults: SpoolFaults;
  readonly #statements: Statement[] = [];
  readonly #db: Database;
  readonly #marks: DeliveredMarks;
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

  /** Opens (or creates) the database at `path`, checks it and applies delivered marks; throws when it is unusable. */
  constructor(path: string, faults: SpoolFaults = {}) {
    this.#path = path;
    this.#faults = faults;
    this.#db = new Database(path, { create: true, strict: true });
    let marks: DeliveredMarks | undefined;
    try {
      this.#db.exec("PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA busy_timeout = 1000;");
      const check = once<{ quick_check: string }>(this.#db, "PRAGMA quick_check(1)")[0];
      if (check?.quick_check !== "ok") throw new SpoolCorruptError(`quick_check: ${check?.quick_check}`);
      this.#db.exec(SCHEMA);
      this.#deleteUpto = this.#prepare("DELETE FROM outbox WHERE destination = ? AND seq <= ?");
      marks = new DeliveredMarks(`${path}-delivered`);
      this.#marks = marks;
      this.#applyMarks();
      // The header on disk then holds the page count the integrity watch compares the file size with.
      this.#db.exec("PRAGMA wal_checkpoint(TRUNCATE)");
      const rows = once<{ destination: string; items: number; bytes: number }>(
        this.#db,
        "SELECT destination, COUNT(*) AS items, COALESCE(SUM(bytes), 0) AS bytes FROM outbox GROUP BY destination",
      );
      for (const row of rows) {
        this.#totals.set(row.destination, { items: row.items, bytes: row.bytes });
        this.#bytes += row.bytes;
      }
      this.#insert = this.#prepare("INSERT INTO outbox (destination, payload, bytes) VALUES (?, ?, ?)");
      this.#insertMany = this.#prepare(
        `INSERT INTO outbox (destination, payload, bytes) VALUES ${Array(INSERT_ROWS).fill("(?, ?, ?)").join(", ")}`,
      );
      this.#insertAt = this.#prepare(
        "INSERT INTO outbox (seq, destination, payload, bytes) VALUES (?, ?, ?, ?)",
      );
      this.#minSeq = this.#prepare("SELECT MIN(seq) AS seq FROM outbox");
      this.#peek = this.#prepare(
        "SELECT seq, payload FROM outbox WHERE destination = ? AND seq > ? ORDER BY seq LIMIT ?",
      );
      this.#sumUpto = this.#prepare(
        "SELECT COUNT(*) AS items, COALESCE(SUM(bytes), 0) AS bytes FROM outbox WHERE destination = ? AND seq <= ?",
      );
      this.#oldest = this.#prepare("SELECT seq, destination, bytes FROM outbox ORDER BY seq LIMIT ?");
      this.#deleteThrough = this.#prepare("DELETE FROM outbox WHERE seq <= ?");
    } catch (error) {
      marks?.close();
      this.#db.close();
      throw error;
    }
  }

  append(destination: string, payloads: string[], sizes?: number[]): void {
    const n = payloads.length;
    if (n === 0) return;
    this.#faults.beforeWrite?.("append");
    this.#applyMarks();
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

  prepend(destination: string, payloads: string[], sizes?: number[]): void {
    if (payloads.length === 0) return;
    this.#faults.beforeWrite?.("prepend");
    // Marked rows must be gone first: a seq below them would be taken for delivered.
    this.#applyMarks();
    let bytes = 0;
    this.#db.transaction(() => {
      // Seqs below the current minimum sort before every spooled item; sqlite accepts negative keys.
      const first = (this.#minSeq.get()?.seq ?? 1) - payloads.length;
      for (let i = 0; i < payloads.length; i++) {
        const payload = payloads[i] as string;
        const size = sizes?.[i] ?? Buffer.byteLength(payload);
        this.#insertAt.run(first + i, destination, payload, size);
        bytes += size;
      }
    })();
    this.#add(destination, payloads.length, bytes);
  }

  peek(destination: string, n: number): SpoolRow[] {
    if (n <= 0 || !this.#totals.has(destination)) return [];
    return this.#peek.all(destination, this.#marks.get(destination) ?? Number.MIN_SAFE_INTEGER, n);
  }

  remove(destination: string, uptoSeq: number): SpoolRemoval {
    const mark = this.#marks.get(destination) ?? Number.MIN_SAFE_INTEGER;
    const upto = this.#sumUpto.get(destination, uptoSeq) ?? { items: 0, bytes: 0 };
    const before = this.#sumUpto.get(destination, mark) ?? { items: 0, bytes: 0 };
    const removed = { items: upto.items - before.items, bytes: upto.bytes - before.bytes };
    if (removed.items > 0) {
      try {
        this.#faults.beforeWrite?.("remove");
        this.#deleteUpto.run(destination, uptoSeq);
        if (this.#marks.size > 0) this.#applyMarks();
      } catch (error) {
        if (!isDiskFull(error)) throw error;
        // A delete needs free space for its journal; the mark needs none, and hides the rows until then.
        this.#marks.set(destination, uptoSeq);
      }
    }
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

  evict(bytes: number): SpoolRemoval[] {
    this.#faults.beforeWrite?.("evict");
    this.#applyMarks();
    const byDestination = new Map<string, SpoolRemoval>();
    this.#db.transaction(() => {
      let freed = 0;
      while (freed < bytes) {
        const rows = this.#oldest.all(512);
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

  compact(): void {
    if (this.#bytes > 0 || this.#totals.size > 0) return;
    this.#db.exec("VACUUM");
    this.#db.exec("PRAGMA wal_checkpoint(TRUNCATE)");
  }

  fileBytes(): number {
    let bytes = 0;
    for (const file of [this.#path, `${this.#path}-wal`]) {
      try {
        bytes += statSync(file).size;
      } catch {
        // No WAL yet.
      }
    }
    return bytes;
  }

  close(): void {
    // Unfinalized statements would keep the file open after close (sqlite3_close_v2), e.g. on a tmpfs to unmount.
    for (const statement of this.#statements) statement.finalize();
    this.#db.close();
    this.#marks.close();
  }

  // biome-ignore lint/suspicious/noExplicitAny: each statement's row type is given by the field it is assigned to.
  #prepare(sql: string): Statement<any> {
    const statement = this.#db.prepare(sql);
    this.#statements.push(statement);
    return statement;
  }

  /** Deletes rows hidden by delivered marks and clears the marks; throws when the disk is still full. */
  #applyMarks(): void {
    if (this.#marks.size === 0) return;
    this.#db.transaction(() => {
      for (const [destination, seq] of this.#marks.entries()) this.#deleteUpto.run(destination, seq);
    })();
    this.#marks.clear();
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

/** Runs a query once and finalizes it (a cached `db.query` would keep the file open after close). */
function once<T>(db: Database, sql: string): T[] {
  const statement = db.prepare<T, []>(sql);
  try {
    return statement.all();
  } finally {
    statement.finalize();
  }
}

/** Opens (or creates) the spool database at `path` and checks it (`quick_check`); throws when unusable. */
export function createSqliteSpool(path: string, faults?: SpoolFaults): Spool {
  return new SqliteSpool(path, faults);
}
