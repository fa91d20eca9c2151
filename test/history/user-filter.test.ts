import { afterEach, expect, test } from "bun:test";
import type { Cursor } from "../../src/history/events-query.ts";
import type { HistoryPart } from "../../src/history/part.ts";
import type { TempDir } from "../support/process.ts";
import { events, MIN, openPart, type Row, store, T0 } from "./support.ts";

let opened: { part: HistoryPart; dir: TempDir } | null = null;
afterEach(async () => {
  await opened?.part.close();
  opened?.dir.cleanup();
  opened = null;
});

test("a user's events are found in every hour and day they fall in, page by page, newest first", async () => {
  // anna in scattered hours over three days, among other users' events in every hour.
  const rows: Row[] = [];
  for (let minute = 0; minute < 3 * 24 * 60; minute += 7) {
    const user = minute % 11 === 0 || minute % 997 < 14 ? "anna" : `user${minute % 13}`;
    rows.push([minute, "Start session", user]);
  }
  const list = events(rows);
  opened = await openPart({ now: () => T0 + 4 * 24 * 60 * MIN });
  await store(opened.part, list);
  const expected = list
    .filter((e) => e.userId === "anna")
    .map((e) => e.id)
    .reverse();
  expect(expected.length).toBeGreaterThan(50);

  const seen: number[] = [];
  let cursor: Cursor | null = null;
  for (let page = 0; page < 100; page++) {
    const answer = opened.part.queries.events(
      { from: 0, to: T0 + 5 * 24 * 60 * MIN, user: "LAB\\anna" },
      7,
      cursor,
    );
    seen.push(...answer.events.map((e) => e.id));
    cursor = answer.next;
    if (cursor === null) break;
  }
  expect(seen).toStrictEqual(expected);
  // A range that starts and ends inside hours holds only the events inside it.
  const from = T0 + 24 * 60 * MIN + 30 * MIN;
  const to = T0 + 36 * 60 * MIN + 10 * MIN;
  const inside = list
    .filter((e) => e.userId === "anna" && Date.parse(e.receivedAt) >= from && Date.parse(e.receivedAt) < to)
    .map((e) => e.id)
    .reverse();
  expect(
    opened.part.queries.events({ from, to, user: "anna" }, 1000, null).events.map((e) => e.id),
  ).toStrictEqual(inside);
});
