import { afterEach, expect, test } from "bun:test";
import type { UserEvent } from "../../src/events/event.ts";
import type { HistoryPart } from "../../src/history/part.ts";
import type { TempDir } from "../support/process.ts";
import { events, MIN, openPart, type Row, store, T0 } from "./support.ts";

const DAY = 24 * 60 * MIN;
const open: { part: HistoryPart; dir: TempDir }[] = [];
afterEach(async () => {
  for (const o of open.splice(0)) {
    await o.part.close();
    o.dir.cleanup();
  }
});

/** Every page of a user query, newest first, following `next`. */
function allPages(part: HistoryPart, user: string, from: number, to: number, limit: number): UserEvent[] {
  const out: UserEvent[] = [];
  let cursor = null;
  for (let pages = 0; pages < 100; pages++) {
    const page = part.queries.events({ from, to, user }, limit, cursor);
    out.push(...page.events);
    if (page.next === null) return out;
    cursor = page.next;
  }
  throw new Error("no last page");
}

test("a user's events over many days page newest first across day boundaries, as an unfiltered read filtered by hand (reference §19)", async () => {
  const o = await openPart({ now: () => T0 + 20 * DAY });
  open.push(o);
  // anna on days 0, 1 (around midnight), 5 and 9; bob every day; carl once, in another directory case.
  const rows: Row[] = [];
  for (let d = 0; d < 10; d++) {
    const m = d * 24 * 60;
    rows.push([m + 5, "Start session", "bob"]);
    if (d === 0 || d === 5 || d === 9)
      rows.push([m + 10, "Start session", "anna"], [m + 11, "Stop session", "anna"]);
    if (d === 1)
      rows.push([m - 10 * 60 - 1, "Start session", "anna"], [m - 10 * 60 + 1, "Stop session", "anna"]);
    rows.push([m + 20, "Stop session", "bob"]);
  }
  rows.push([3 * 24 * 60, "Start session", "CARL"]);
  rows.sort((a, b) => a[0] - b[0]);
  await store(o.part, events(rows));
  const everything = o.part.queries.events({ from: 0, to: T0 + 20 * DAY }, 10_000, null).events;
  const expected = (pick: (e: UserEvent) => boolean, from = 0, to = T0 + 20 * DAY) =>
    everything.filter((e) => pick(e) && Date.parse(e.receivedAt) >= from && Date.parse(e.receivedAt) < to);
  const anna = (e: UserEvent) => e.userId === "anna";
  expect(expected(anna).length).toBe(8);
  for (const limit of [1, 3, 100]) {
    expect(allPages(o.part, "anna", 0, T0 + 20 * DAY, limit)).toStrictEqual(expected(anna));
    expect(allPages(o.part, "lab\\ANNA", 0, T0 + 20 * DAY, limit)).toStrictEqual(expected(anna));
  }
  // A range that starts and ends inside days.
  const from = T0 + DAY / 2;
  const to = T0 + 5 * DAY + 10 * MIN + 30_000;
  expect(allPages(o.part, "anna", from, to, 2)).toStrictEqual(expected(anna, from, to));
  expect(expected(anna, from, to).length).toBe(3);
  expect(allPages(o.part, "carl", 0, T0 + 20 * DAY, 5).map((e) => e.userId)).toStrictEqual(["CARL"]);
  expect(allPages(o.part, "dora", 0, T0 + 20 * DAY, 5)).toStrictEqual([]);
  expect(allPages(o.part, "bob", 0, T0 + 20 * DAY, 7)).toStrictEqual(expected((e) => e.userId === "bob"));
});
