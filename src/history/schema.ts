import type { Database } from "bun:sqlite";

/** The schema version this executable writes (`PRAGMA user_version`). */
export const SCHEMA_VERSION = 4;

/**
 * Version 1: dictionaries for every repeated string and one narrow events row per event (integer
 * time in ms and integer keys). The event id is the rowid, so it costs nothing extra.
 */
const V1 = `
CREATE TABLE hosts(id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE);
CREATE TABLE users(id INTEGER PRIMARY KEY, dir TEXT NOT NULL, uid TEXT NOT NULL, UNIQUE(dir, uid));
CREATE TABLE apps(id INTEGER PRIMARY KEY, app_id TEXT NOT NULL, app_name TEXT, UNIQUE(app_id, app_name));
CREATE TABLE agents(id INTEGER PRIMARY KEY, msg TEXT NOT NULL UNIQUE, ua TEXT, browser TEXT, os TEXT);
CREATE TABLE strs(id INTEGER PRIMARY KEY, s TEXT NOT NULL UNIQUE);
CREATE TABLE events(
  id INTEGER PRIMARY KEY,
  ts INTEGER NOT NULL,
  host INTEGER NOT NULL,
  user INTEGER NOT NULL,
  action INTEGER NOT NULL,
  app INTEGER,
  src INTEGER NOT NULL,
  origin INTEGER NOT NULL,
  context INTEGER NOT NULL,
  agent INTEGER NOT NULL,
  addr INTEGER NOT NULL
);
CREATE INDEX events_ts ON events(ts);
`;

/** Version 2: session checkpoints (restart and `active`), first/last seen per host, events by user. */
const V2 = `
CREATE INDEX events_user ON events(user, ts);
CREATE TABLE checkpoints(t INTEGER PRIMARY KEY, last_id INTEGER NOT NULL, state BLOB NOT NULL);
ALTER TABLE hosts ADD COLUMN first_ms INTEGER;
ALTER TABLE hosts ADD COLUMN last_ms INTEGER;
UPDATE hosts SET
  first_ms = (SELECT MIN(ts) FROM events WHERE events.host = hosts.id),
  last_ms = (SELECT MAX(ts) FROM events WHERE events.host = hosts.id);
`;

/**
 * Version 3: the days each user has events on replace the (user, ts) index, whose inserts landed all
 * over the index and made every transaction rewrite most of it (the write rate of the history lane).
 * The user's days are few and the user's events are then found day by day through the time index,
 * which carries the user so that those days are filtered without reading the rows.
 */
const V3 = `
DROP INDEX events_user;
DROP INDEX events_ts;
CREATE INDEX events_ts_user ON events(ts, user);
CREATE TABLE user_days(user INTEGER NOT NULL, day INTEGER NOT NULL, PRIMARY KEY(user, day)) WITHOUT ROWID;
INSERT OR IGNORE INTO user_days(user, day) SELECT user, ts / 86400000 FROM events;
`;

/**
 * Version 4: the hours (instead of the days) each user has events in, so a user query reads only the
 * hours of the user's sessions through the time index, not whole days of everyone's events. The
 * `user_days` table stays (no longer written, emptied by retention): the CLI may upgrade the file
 * while an older service still writes it.
 */
const V4 = `
CREATE TABLE user_hours(user INTEGER NOT NULL, hour INTEGER NOT NULL, PRIMARY KEY(user, hour)) WITHOUT ROWID;
INSERT OR IGNORE INTO user_hours(user, hour) SELECT user, ts / 3600000 FROM events;
`;

/** Step n upgrades a file from version n to n + 1 (index 0 creates version 1 from an empty file). */
const MIGRATIONS = [V1, V2, V3, V4];

/**
 * Brings the file to {@link SCHEMA_VERSION}, one transaction per step; returns the version it found.
 * A file written by a newer executable is refused rather than damaged.
 */
export function migrate(db: Database): number {
  const found = (db.query("PRAGMA user_version").get() as { user_version: number }).user_version;
  if (found > SCHEMA_VERSION) {
    throw new Error(
      `[history] the file has schema version ${found}; this executable knows up to ${SCHEMA_VERSION}`,
    );
  }
  if (found === 0) {
    // Must be set before the first table exists; lets the size cap give pages back to the file system.
    db.exec("PRAGMA auto_vacuum = INCREMENTAL");
  }
  for (let version = found; version < SCHEMA_VERSION; version++) {
    db.transaction(() => {
      db.exec(MIGRATIONS[version] as string);
      db.exec(`PRAGMA user_version = ${version + 1}`);
    })();
  }
  return found;
}
