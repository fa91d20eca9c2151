import { expect, test } from "bun:test";
import fc from "fast-check";
import type { UserAgentInfo, UserEvent } from "../../src/events/event.ts";
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
  // A time Date cannot hold throws every time, never answering with the time asked before it.
  for (let i = 0; i < 2; i++) expect(() => isoOf(9e15)).toThrow();
  expect(isoOf(-1)).toBe(new Date(-1).toISOString());
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

test("a user agent found in the message is carried as its place in it, and comes back the same", () => {
  const [withAgent] = events(KNOWN.slice(1, 2));
  const base = deliverable(withAgent as UserEvent);
  const ua = base.event.userAgent as UserAgentInfo;
  const raw = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/119.0.0.0";
  for (const message of [`UserAgent: '${raw}'`, "no agent in here", raw]) {
    const d = { ...base, event: { ...base.event, message, userAgent: { ...ua, raw } } };
    const item = encodeHistoryItem(d);
    // Written once: inside the message, or on its own when the message does not hold it.
    expect(item.split(raw).length - 1).toBe(1);
    expect(decodeHistoryItem(item)?.event).toStrictEqual(d.event);
    expect(decodeHistoryBatch(encodeHistoryBatch([item]), 1)?.[0]?.event).toStrictEqual(d.event);
  }
});

test("an item in the earlier form (the raw user agent written out) still decodes, as from an older spool", () => {
  const [e] = events(KNOWN.slice(1, 2));
  const d = deliverable(e as UserEvent);
  const ua = d.event.userAgent as UserAgentInfo;
  const old = JSON.stringify([
    ...JSON.parse(encodeHistoryItem(d)).slice(0, 13),
    [ua.raw, ua.browserName, ua.browserMajorVersion, ua.osName, ua.osVersion],
  ]);
  expect(decodeHistoryItem(old)?.event).toStrictEqual(d.event);
  // An agent of neither form makes the batch fall back to one by one, where it is counted as bad.
  const bad = JSON.stringify([...JSON.parse(old).slice(0, 13), 7]);
  expect(decodeHistoryBatch(encodeHistoryBatch([old, bad]), 2)).toBeNull();
});
