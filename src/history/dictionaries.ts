import type { Database, Statement } from "bun:sqlite";

/** Most keys a dictionary cache holds before it starts over (hostile input can invent many strings). */
const CACHE_LIMIT = 50_000;

/** A string dictionary table: the id of a value, inserted on first use, cached in memory. */
export interface Dictionary {
  /** The id of `key`; `values()` gives the columns written when the key is new (not called when cached). */
  id(key: string, values: () => (string | null)[]): number;
  /** The id of `value` in a one-column dictionary (the value is its own key). */
  idOf(value: string): number;
}

/**
 * Creates a dictionary over `table`; `columns` are written on insert and `match` is the WHERE clause
 * (with `?` for each column, in order) that finds an existing row.
 */
export function createDictionary(db: Database, table: string, columns: string[], match: string): Dictionary {
  const cache = new Map<string, number>();
  const marks = columns.map(() => "?").join(", ");
  const insert: Statement = db.query(
    `INSERT INTO ${table}(${columns.join(", ")}) VALUES (${marks}) ON CONFLICT DO NOTHING RETURNING id`,
  );
  const find: Statement = db.query(`SELECT id FROM ${table} WHERE ${match}`);
  function insertOrFind(key: string, columns: (string | null)[]): number {
    const row = (insert.get(...columns) ?? find.get(...columns)) as { id: number } | null;
    if (row === null) throw new Error(`[history] cannot store ${table} value`);
    if (cache.size >= CACHE_LIMIT) cache.clear();
    cache.set(key, row.id);
    return row.id;
  }

  return {
    id(key, values) {
      const cached = cache.get(key);
      if (cached !== undefined) return cached;
      return insertOrFind(key, values());
    },
    // No closure per call: most events repeat values that are cached.
    idOf: (value) => cache.get(value) ?? insertOrFind(value, [value]),
  };
}

/** The dictionaries of the events table. */
export interface Dictionaries {
  hosts: Dictionary;
  users: Dictionary;
  apps: Dictionary;
  agents: Dictionary;
  strs: Dictionary;
}

/** Creates every dictionary of the history file. */
export function createDictionaries(db: Database): Dictionaries {
  return {
    hosts: createDictionary(db, "hosts", ["name"], "name = ?"),
    users: createDictionary(db, "users", ["dir", "uid"], "dir = ? AND uid = ?"),
    apps: createDictionary(db, "apps", ["app_id", "app_name"], "app_id = ? AND app_name IS ?"),
    agents: createDictionary(
      db,
      "agents",
      ["msg", "ua", "browser", "os"],
      "msg = ? AND ua IS ? AND browser IS ? AND os IS ?",
    ),
    strs: createDictionary(db, "strs", ["s"], "s = ?"),
  };
}
