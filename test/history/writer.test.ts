import { expect, test } from "bun:test";
import { join } from "node:path";
import { decodeHistoryItem, encodeHistoryItem, type HistoryItem } from "../../src/history/item.ts";
import { openHistoryWriter } from "../../src/history/open.ts";
import { createHistoryWriter } from "../../src/history/writer.ts";
import { deliverable } from "../support/events.ts";
import { tempDir } from "../support/process.ts";
import { events, KNOWN, MIN, openPart, type Row, store, T0 } from "./support.ts";

const DAY = 24 * 60 * MIN;

const items = (): HistoryItem[] =>
  events([...KNOWN, ...KNOWN.map(([m, ...rest]) => [m + 60, ...rest] as (typeof KNOWN)[number])]).map(
    (e) => decodeHistoryItem(encodeHistoryItem(deliverable(e))) as HistoryItem,
  );

test("a batch whose transaction fails stores nothing and is stored whole when retried (reference §19)", () => {
  const dir = tempDir("sense-events-history-");
  const db = openHistoryWriter(join(dir.path, "h.sqlite"));
  try {
    const writer = createHistoryWriter(db, 30);
    const batch = items();
    expect(batch.length).toBe(16);
    db.exec(
      "CREATE TEMP TRIGGER fail BEFORE INSERT ON events WHEN NEW.id = 11 BEGIN SELECT RAISE(ABORT, 'disk full'); END",
    );
    expect(() => writer.write(batch)).toThrow("disk full");
    expect((db.query("SELECT COUNT(*) AS n FROM events").get() as { n: number }).n).toBe(0);
    expect(writer.lastId()).toBe(0);
    db.exec("DROP TRIGGER fail");
    expect(writer.write(batch)).toBe(16);
    expect(writer.lastId()).toBe(16);
    expect(
      db
        .query("SELECT id FROM events ORDER BY id")
        .values()
        .map((r) => r[0]),
    ).toStrictEqual(batch.map((i) => i.event.id));
    // Stored twice (at-least-once delivery): nothing new.
    expect(writer.write(batch)).toBe(0);
  } finally {
    db.close();
    dir.cleanup();
  }
});

test("a batch of several 64-row statements and a remainder is stored row for row (reference §19)", async () => {
  const o = await openPart({ now: () => T0 + 2 * DAY });
  try {
    // 200 events within 20 minutes (no hourly checkpoint in between): three 64-row statements and
    // 8 single rows; users, hosts and apps vary per row.
    const rows: Row[] = Array.from({ length: 200 }, (_, i): Row => {
      const user = `user${i % 7}`;
      return i % 3 === 0
        ? [i / 10, "Start session", user, `node${i % 2}`]
        : [
            i / 10,
            "Open connection",
            user,
            `node${i % 2}`,
            [`app-${i % 5}`, i % 10 === 1 ? "Renamed" : `App ${i % 5}`],
          ];
    });
    const list = events(rows);
    await store(o.part, list);
    expect(o.part.queries.events({ from: 0, to: T0 + 2 * DAY }, 1000, null).events.reverse()).toStrictEqual(
      list,
    );
  } finally {
    await o.part.close();
    o.dir.cleanup();
  }
});
