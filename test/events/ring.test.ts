import { describe, expect, test } from "bun:test";
import type { UserEvent } from "../../src/events/event.ts";
import {
  compileMatcher,
  type EventQuery,
  EventRing,
  MAX_PAGE_BYTES,
  matchesEvent,
} from "../../src/events/ring.ts";
import { makeEvent, referenceMatch } from "./fixtures.ts";

const ids = (events: UserEvent[]): number[] => events.map((e) => e.id);

function filled(capacity: number, count: number, make = (id: number) => makeEvent(id)): EventRing {
  const ring = new EventRing(capacity);
  for (let id = 1; id <= count; id++) ring.push(make(id));
  return ring;
}

describe("EventRing storage", () => {
  test("drops the oldest event when full", () => {
    const ring = filled(3, 5);
    expect(ring.size).toBe(3);
    expect(ids(ring.query({}).events)).toStrictEqual([5, 4, 3]);
  });

  test("reports its capacity", () => {
    expect(new EventRing(7).capacity).toBe(7);
  });

  test.each([0, -1, 1.5, Number.NaN])("rejects capacity %p", (capacity) => {
    expect(() => new EventRing(capacity)).toThrow(RangeError);
  });

  test("a smaller capacity keeps the newest events", () => {
    const ring = filled(5, 5);
    ring.resize(2);
    expect([ring.size, ring.capacity]).toStrictEqual([2, 2]);
    expect(ids(ring.query({}).events)).toStrictEqual([5, 4]);
  });

  test("a larger capacity keeps every event and accepts more before evicting", () => {
    const ring = filled(3, 4);
    ring.resize(5);
    for (let id = 5; id <= 7; id++) ring.push(makeEvent(id));
    expect(ids(ring.query({}).events)).toStrictEqual([7, 6, 5, 4, 3]);
  });

  test("returns the stored event object unchanged", () => {
    const event = makeEvent(1, { appId: "ABC" });
    const ring = new EventRing(2);
    ring.push(event);
    expect(ring.query({}).events[0]).toBe(event);
  });
});

describe("EventRing.query", () => {
  test("defaults to the newest 100 events", () => {
    const page = filled(500, 250).query({});
    expect(page.events.length).toBe(100);
    expect([page.events[0]?.id, page.events[99]?.id, page.next]).toStrictEqual([250, 151, 151]);
  });

  test("pages with before/next until next is null", () => {
    const ring = filled(20, 5);
    const first = ring.query({ limit: 2 });
    const second = ring.query({ limit: 2, before: first.next ?? 0 });
    const third = ring.query({ limit: 2, before: second.next ?? 0 });
    expect([first, second, third].map((p) => [ids(p.events), p.next])).toStrictEqual([
      [[5, 4], 4],
      [[3, 2], 2],
      [[1], null],
    ]);
  });

  test("next is null when the page ends exactly at the oldest match", () => {
    expect(filled(10, 4).query({ limit: 4 }).next).toBeNull();
  });

  test("next counts only matching older events", () => {
    const ring = filled(10, 6, (id) => makeEvent(id, { host: id === 1 || id >= 5 ? "a" : "b" }));
    const page = ring.query({ host: "a", limit: 2 });
    expect([ids(page.events), page.next]).toStrictEqual([[6, 5], 5]);
    expect(ids(ring.query({ host: "a", before: 5 }).events)).toStrictEqual([1]);
  });

  const users: [string, Partial<UserEvent>][] = [
    ["ACME\\alice", { userDirectory: "ACME", userId: "alice" }],
    ["OTHER\\alice", { userDirectory: "OTHER", userId: "alice" }],
    ["ACME\\bob", { userDirectory: "ACME", userId: "bob" }],
    ["ACME\\Alice", { userDirectory: "acme", userId: "ALICE" }],
  ];
  const userRing = () => filled(10, 4, (id) => makeEvent(id, users[id - 1]?.[1]));

  test.each<[EventQuery, number[]]>([
    [{ user: "acme\\ALICE" }, [4, 1]],
    [{ user: "alice" }, [4, 2, 1]],
    [{ user: "ACME\\" }, []],
    [{ user: "bob" }, [3]],
    [{ user: "other\\bob" }, []],
  ])("user filter %p matches %p", (query, expected) => {
    expect(ids(userRing().query(query).events)).toStrictEqual(expected);
  });

  const mixed = (id: number): UserEvent =>
    makeEvent(id, {
      host: id % 2 === 0 ? "Sense-Even" : "sense-odd",
      action: id % 3 === 0 ? "Start session" : "Open connection",
      appId: id === 4 ? "0f4a2b3c-1111-2222-3333-444455556666" : null,
    });

  test.each<[EventQuery, number[]]>([
    [{ host: "SENSE-EVEN" }, [6, 4, 2]],
    [{ action: "start SESSION" }, [6, 3]],
    [{ appId: "0F4A2B3C-1111-2222-3333-444455556666" }, [4]],
    [{ host: "sense-even", action: "open connection" }, [4, 2]],
    [{ since: new Date(Date.UTC(2025, 0, 1) + 4000).toISOString() }, [6, 5, 4]],
    [{ until: new Date(Date.UTC(2025, 0, 1) + 3000).toISOString() }, [2, 1]],
    [{ since: "2025-01-01T00:00:02.000Z", until: "2025-01-01T00:00:04.000Z" }, [3, 2]],
    [{ before: 3 }, [2, 1]],
    [{ before: 1 }, []],
    [{ before: 100 }, [6, 5, 4, 3, 2, 1]],
  ])("filter %p returns %p", (query, expected) => {
    expect(ids(filled(10, 6, mixed).query(query).events)).toStrictEqual(expected);
  });
});

describe("EventRing.after", () => {
  test("returns newer events oldest first", () => {
    expect(ids(filled(10, 6).after(3))).toStrictEqual([4, 5, 6]);
  });

  test("returns only what is still stored when the id was evicted", () => {
    expect(ids(filled(3, 6).after(1))).toStrictEqual([4, 5, 6]);
  });

  test("returns nothing for the newest id", () => {
    expect(filled(10, 6).after(6)).toStrictEqual([]);
  });

  test("honours the limit from the oldest end", () => {
    expect(ids(filled(10, 6).after(1, 2))).toStrictEqual([2, 3]);
  });
});

describe("lazy lower-casing", () => {
  const spellings: Partial<UserEvent>[] = [
    { host: "Sense1", userDirectory: "ACME", userId: "Alice" },
    { host: "sense1", userDirectory: "acme", userId: "alice", appId: "0F4A2B3C-1111-2222-3333-444455556666" },
    { host: "SENSE1", userDirectory: "Acme", userId: "\u0130lse", action: "START SESSION" },
    {
      host: "sense2",
      userDirectory: "acme",
      userId: "i\u0307lse",
      appId: "0f4a2b3c-1111-2222-3333-444455556666",
    },
    { host: "sense\u0130", userDirectory: "\u03a3\u0391\u03a3", userId: "\u03c3\u03b1\u03c2" },
  ];
  const events = spellings.map((overrides, i) => makeEvent(i + 1, overrides));

  test.each<EventQuery>([
    { host: "sense1" },
    { host: "SENSE1", user: "acme\\alice" },
    { user: "i\u0307lse" },
    { user: "\u0130LSE" },
    { user: "\u03c3\u03b1\u03c2\\\u03c3\u03b1\u03c2" },
    { action: "start session" },
    { appId: "0f4a2b3c-1111-2222-3333-444455556666" },
    { host: "sense\u0130" },
  ])("query %p matches exactly what the plain lower-cased comparison matches", (query) => {
    const ring = new EventRing(10);
    for (const event of events) ring.push(event);
    const m = compileMatcher(query);
    const expected = events.filter((e) => referenceMatch(e, m)).reverse();
    expect(ids(ring.query(query).events)).toStrictEqual(ids(expected));
    expect(events.map((e) => matchesEvent(e, m))).toStrictEqual(events.map((e) => referenceMatch(e, m)));
  });

  test.each<EventQuery>([
    { since: "2025-01-01T00:00:03.000Z" },
    { until: "2025-01-01T00:00:03.000Z", user: "alice" },
    { since: 0, host: "sense1" },
  ])("matchesEvent agrees with the plain comparison for the time filter %p", (query) => {
    const m = compileMatcher(query);
    expect(events.map((e) => matchesEvent(e, m))).toStrictEqual(events.map((e) => referenceMatch(e, m)));
  });

  test("since/until use each event's own receive time when consecutive events share or change it", () => {
    const at = (s: number) => new Date(Date.UTC(2025, 0, 1) + s * 1000).toISOString();
    const times = [0, 0, 1, 1, 0, 2];
    const ring = new EventRing(10);
    for (const [i, s] of times.entries()) ring.push(makeEvent(i + 1, { receivedAt: at(s) }));
    expect(ids(ring.query({ since: at(1), until: at(2) }).events)).toStrictEqual([4, 3]);
  });
});

describe("page size bound (issue 9: every response bounded)", () => {
  test("a page stops before MAX_PAGE_BYTES of JSON, with next to continue", () => {
    const ring = new EventRing(10_000);
    const message = '"'.repeat(1000);
    for (let id = 1; id <= 10_000; id++) ring.push(makeEvent(id, { message, context: "\\".repeat(500) }));
    const page = ring.query({ limit: 10_000 });
    expect(page.events.length).toBeLessThan(10_000);
    expect(page.next).toBe((page.events.at(-1) as UserEvent).id);
    expect(Buffer.byteLength(JSON.stringify(page))).toBeLessThanOrEqual(MAX_PAGE_BYTES);
    expect(ring.query({ limit: 10_000, before: page.next ?? 0 }).events[0]?.id).toBe((page.next ?? 0) - 1);
  });
});
