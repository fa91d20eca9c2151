import type { Database } from "bun:sqlite";
import { extentOf } from "./extent.ts";

const DAY_MS = 24 * 60 * 60 * 1000;
/** Events deleted per transaction, so a large prune does not hold the writer (or the event loop) long. */
const CHUNK = 20_000;

/** Events deleted by each prune, for the counters. */
export interface PruneCounts {
  retention: number;
  size: number;
}

/** Bytes the file's used pages take (free pages excluded). */
export function usedBytes(db: Database): number {
  const pages = (db.query("PRAGMA page_count").get() as { page_count: number }).page_count;
  const free = (db.query("PRAGMA freelist_count").get() as { freelist_count: number }).freelist_count;
  const size = (db.query("PRAGMA page_size").get() as { page_size: number }).page_size;
  return (pages - free) * size;
}

/**
 * Deletes the events with an id up to `uptoId` and the checkpoints they made useless, in chunks
 * (yielding between them); returns how many events went.
 */
async function deleteUpTo(db: Database, uptoId: number): Promise<number> {
  const chunk = db.query(
    "DELETE FROM events WHERE id IN (SELECT id FROM events WHERE id <= ? ORDER BY id LIMIT ?)",
  );
  let deleted = 0;
  for (;;) {
    const changes = chunk.run(uptoId, CHUNK).changes;
    deleted += changes;
    if (changes < CHUNK) break;
    await new Promise((resolve) => setImmediate(resolve));
  }
  // A checkpoint is kept when it is the newest one covering deleted events: replays start there.
  db.query("DELETE FROM checkpoints WHERE t < (SELECT MAX(t) FROM checkpoints WHERE last_id <= ?)").run(
    uptoId,
  );
  // Hours before the oldest remaining event's hour list nothing any more (a later hour is kept whole).
  db.exec("DELETE FROM user_hours WHERE hour < (SELECT MIN(ts) / 3600000 FROM events)");
  db.exec("DELETE FROM user_days WHERE day < (SELECT MIN(ts) / 86400000 FROM events)");
  return deleted;
}

/**
 * The id up to which events may be deleted to drop everything received before `cutoff`: the
 * newest checkpoint at or before the cutoff, so sessions replay exactly from what stays.
 */
function boundaryBefore(db: Database, cutoff: number): number | null {
  const row = db
    .query("SELECT last_id FROM checkpoints WHERE t <= ? ORDER BY t DESC LIMIT 1")
    .get(cutoff) as {
    last_id: number;
  } | null;
  return row?.last_id ?? null;
}

/**
 * Applies `retentionDays` (everything received before now − days goes, at checkpoint granularity,
 * so up to an hour more may stay) and then `maxBytes` (oldest first, an hour of events at a time).
 */
export async function prune(
  db: Database,
  options: { now: number; retentionDays: number; maxBytes: number },
): Promise<PruneCounts> {
  const counts: PruneCounts = { retention: 0, size: 0 };
  const cutoff = options.now - options.retentionDays * DAY_MS;
  const upto = boundaryBefore(db, cutoff);
  if (upto !== null) counts.retention = await deleteUpTo(db, upto);
  for (let round = 0; round < 10_000 && usedBytes(db) > options.maxBytes; round++) {
    const oldest = extentOf(db);
    if (oldest.lo === null || oldest.lastId === null) break;
    // Up to the first checkpoint boundary after the oldest event, at most the oldest tenth of the events.
    const next = db
      .query(
        "SELECT last_id FROM checkpoints WHERE last_id >= (SELECT MIN(id) FROM events) ORDER BY t LIMIT 1",
      )
      .get() as { last_id: number } | null;
    const tenth = db
      .query("SELECT id FROM events ORDER BY id LIMIT 1 OFFSET (SELECT COUNT(*) / 10 FROM events)")
      .get() as { id: number } | null;
    // A checkpoint boundary keeps replays exact; past a tenth of the file, the tenth wins.
    const bound = Math.min(next?.last_id ?? Number.POSITIVE_INFINITY, tenth?.id ?? oldest.lastId);
    counts.size += await deleteUpTo(db, bound);
    db.exec("PRAGMA incremental_vacuum");
  }
  if (counts.retention > 0) db.exec("PRAGMA incremental_vacuum");
  return counts;
}
