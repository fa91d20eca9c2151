import type { Database, Statement } from "bun:sqlite";
import type { EventRow } from "./decode.ts";

/** Rows bound per multi-row INSERT: one statement step per this many events instead of one per event. */
const ROWS_PER_STATEMENT = 64;
/** Columns of an {@link EventRow}. */
const COLUMNS = 11;

const SQL =
  "INSERT OR IGNORE INTO events(id, ts, host, user, action, app, src, origin, context, agent, addr) VALUES ";

/** Buffers events rows and inserts them {@link ROWS_PER_STATEMENT} at a time. */
export interface RowInserter {
  /**
   * Adds one events row (inserted at the latest by the next {@link RowInserter.flush}); the columns
   * come as arguments, so the write thread allocates no array per event.
   */
  add(...row: EventRow): void;
  /** Inserts the buffered rows; returns how many rows were new since the previous flush. */
  flush(): number;
  /** Forgets buffered rows (after a rolled-back transaction). */
  reset(): void;
}

/** Creates the inserter of the history writer (call it inside the writer's transaction). */
export function createRowInserter(db: Database): RowInserter {
  const values = (rows: number) =>
    Array.from({ length: rows }, () => `(${Array(COLUMNS).fill("?").join(",")})`).join(",");
  const many: Statement = db.query(SQL + values(ROWS_PER_STATEMENT));
  const one: Statement = db.query(SQL + values(1));
  const params: (number | null)[] = new Array(ROWS_PER_STATEMENT * COLUMNS).fill(null);
  let n = 0;
  let added = 0;
  return {
    add(id, ts, host, user, action, app, src, origin, context, agent, addr) {
      const o = n * COLUMNS;
      params[o] = id;
      params[o + 1] = ts;
      params[o + 2] = host;
      params[o + 3] = user;
      params[o + 4] = action;
      params[o + 5] = app;
      params[o + 6] = src;
      params[o + 7] = origin;
      params[o + 8] = context;
      params[o + 9] = agent;
      params[o + 10] = addr;
      if (++n === ROWS_PER_STATEMENT) {
        added += many.run(...params).changes;
        n = 0;
      }
    },
    flush() {
      for (let r = 0; r < n; r++)
        added += one.run(...params.slice(r * COLUMNS, r * COLUMNS + COLUMNS)).changes;
      n = 0;
      const result = added;
      added = 0;
      return result;
    },
    reset() {
      n = 0;
      added = 0;
    },
  };
}
