import { Database } from "bun:sqlite";
import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import { migrate } from "./schema.ts";

/**
 * Opens (creating folder and file) the history file for writing: WAL, so readers in this and other
 * processes run alongside the writer; normal SQLite locking only (no exclusive mode), so
 * `sense-events history` can read while the service runs.
 */
export function openHistoryWriter(path: string): Database {
  mkdirSync(dirname(path), { recursive: true });
  const db = new Database(path, { create: true, strict: true });
  try {
    db.exec("PRAGMA busy_timeout = 5000");
    db.exec("PRAGMA journal_mode = WAL");
    db.exec("PRAGMA synchronous = NORMAL");
    // 16 MiB of page cache (default 2 MiB): the by-user index takes inserts all over its pages.
    db.exec("PRAGMA cache_size = -16384");
    migrate(db);
  } catch (error) {
    db.close();
    throw error;
  }
  return db;
}

/** Opens the history file read-only (queries, exports, the CLI); fails if it does not exist. */
export function openHistoryReader(path: string): Database {
  const db = new Database(path, { readonly: true, strict: true });
  db.exec("PRAGMA busy_timeout = 5000");
  return db;
}
