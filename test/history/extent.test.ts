import { expect, test } from "bun:test";
import { join } from "node:path";
import { EXTENT_SQL, extentOf } from "../../src/history/extent.ts";
import { openHistoryWriter } from "../../src/history/open.ts";
import { tempDir } from "../support/process.ts";

test("the time range behind /api/stats and /metrics searches indexes and never reads the whole table", () => {
  const dir = tempDir("sense-events-extent-");
  const db = openHistoryWriter(join(dir.path, "h.sqlite"));
  try {
    expect(extentOf(db)).toStrictEqual({ lo: null, hi: null, lastId: null });
    const insert = db.query(
      "INSERT INTO events(id, ts, host, user, action, src, origin, context, agent, addr) VALUES (?, ?, 1, 1, 1, 1, 1, 1, 1, 1)",
    );
    for (const [id, ts] of [
      [1, 500],
      [2, 300],
      [3, 900],
    ])
      insert.run(id as number, ts as number);
    expect(extentOf(db)).toStrictEqual({ lo: 300, hi: 900, lastId: 3 });
    // MIN and MAX in one SELECT would be "SCAN events …": one read of every row per answer.
    const plan = (db.query(`EXPLAIN QUERY PLAN ${EXTENT_SQL}`).all() as { detail: string }[]).map(
      (r) => r.detail,
    );
    expect(plan.filter((detail) => detail.startsWith("SCAN events"))).toStrictEqual([]);
    expect(plan.filter((detail) => detail.startsWith("SEARCH events")).length).toBe(3);
  } finally {
    db.close();
    dir.cleanup();
  }
});
