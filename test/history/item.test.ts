import { expect, test } from "bun:test";
import fc from "fast-check";
import {
  decodeHistoryBatch,
  decodeHistoryItem,
  encodeHistoryBatch,
  encodeHistoryItem,
  type HistoryItem,
} from "../../src/history/item.ts";
import { isoOf } from "../../src/history/replay.ts";
import { deliverable } from "../support/events.ts";
import { events, KNOWN } from "./support.ts";

test("isoOf writes exactly what Date#toISOString writes, including before 1970 and after 9999", () => {
  fc.assert(
    fc.property(fc.integer({ min: -62_198_755_200_000, max: 8_639_000_000_000_000 }), (ms) => {
      expect(isoOf(ms)).toBe(new Date(ms).toISOString());
    }),
    { numRuns: 2000 },
  );
  for (const ms of [0, 999, 1000, 1001, 253_402_300_799_999, 253_402_300_800_000, -1])
    expect(isoOf(ms)).toBe(new Date(ms).toISOString());
});

test("a batch decodes to the same events as its items one by one", () => {
  const items = events(KNOWN).map((e) => encodeHistoryItem(deliverable(e)));
  expect(decodeHistoryBatch(encodeHistoryBatch(items), items.length)).toStrictEqual(
    items.map((item) => decodeHistoryItem(item) as HistoryItem),
  );
});

test("a batch with an item that is not a history item is refused whole, so each item is decoded alone", () => {
  const items = events(KNOWN).map((e) => encodeHistoryItem(deliverable(e)));
  // Not JSON; two items in one; valid JSON of another shape: each breaks the count or the shape.
  for (const bad of ["{", `${items[0]},${items[1]}`, "[1,2]", '"text"']) {
    const batch = [...items.slice(0, 3), bad, ...items.slice(3)];
    expect(decodeHistoryBatch(encodeHistoryBatch(batch), batch.length)).toBeNull();
  }
});
