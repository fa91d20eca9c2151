import { Database } from "bun:sqlite";
import { afterEach, describe, expect, test } from "bun:test";
import { join } from "node:path";
import fc from "fast-check";
import { createSessionTracker } from "../../src/events/sessions.ts";
import { createIntervalTracker } from "../../src/history/concurrency.ts";
import type { HistoryPart } from "../../src/history/part.ts";
import type { TempDir } from "../support/process.ts";
import { APP_A, APP_B, events, KNOWN, MIN, mixedEvents, openPart, store, T0 } from "./support.ts";

const open: { part: HistoryPart; dir: TempDir }[] = [];
afterEach(async () => {
  for (const o of open.splice(0)) {
    await o.part.close();
    o.dir.cleanup();
  }
});

async function known(): Promise<HistoryPart> {
  const o = await openPart();
  open.push(o);
  await store(o.part, events(KNOWN));
  return o.part;
}

const iso = (minutes: number) => new Date(T0 + minutes * MIN).toISOString();

describe("active at an instant (reference §19)", () => {
  test("at +5 min anna and bob are on, each with the app they opened", async () => {
    const part = await known();
    expect(part.queries.active(T0 + 5 * MIN)).toStrictEqual({
      at: iso(5),
      count: 2,
      sessions: [
        {
          userDirectory: "LAB",
          userId: "bob",
          host: "node1",
          since: iso(2),
          apps: [{ appId: APP_B, appName: "HR" }],
        },
        {
          userDirectory: "LAB",
          userId: "anna",
          host: "node1",
          since: iso(0),
          apps: [{ appId: APP_A, appName: "Sales" }],
        },
      ],
    });
  });

  test("at +22 min carl is on too and bob has closed his app", async () => {
    const part = await known();
    const answer = part.queries.active(T0 + 22 * MIN);
    expect(answer.count).toBe(3);
    expect(answer.sessions.map((s) => [s.userId, s.host, s.apps.length])).toStrictEqual([
      ["carl", "node2", 0],
      ["bob", "node1", 0],
      ["anna", "node1", 1],
    ]);
  });

  test("at +45 min bob's idle session has expired and only anna is left", async () => {
    const part = await known();
    const answer = part.queries.active(T0 + 45 * MIN);
    expect(answer.sessions.map((s) => s.userId)).toStrictEqual(["anna"]);
    expect(answer.sessions[0]?.apps).toStrictEqual([]);
  });

  test("a checkpoint in the middle gives the same answers as a replay from the start", async () => {
    const part = await known();
    const later = events(
      [
        [70, "Start session", "dora"],
        [75, "Open connection", "anna", "node1", [APP_A, "Sales"]],
      ],
      9,
      T0,
    );
    // Crossing 11:00 writes a checkpoint; anna's session (idle since +40) ended at +70.
    await store(part, later);
    expect(part.queries.active(T0 + 76 * MIN).sessions.map((s) => [s.userId, s.since])).toStrictEqual([
      ["anna", null],
      ["dora", iso(70)],
    ]);
  });
});

describe("usage (reference §19)", () => {
  test.each([
    [
      "app",
      [
        { bucket: iso(0), key: APP_A, appName: "Sales", uniqueUsers: 1, sessions: 1, connections: 1 },
        { bucket: iso(0), key: APP_B, appName: "HR", uniqueUsers: 1, sessions: 1, connections: 1 },
      ],
    ],
    [
      "user",
      [
        { bucket: iso(0), key: "LAB\\anna", uniqueUsers: 1, sessions: 1, connections: 1 },
        { bucket: iso(0), key: "LAB\\bob", uniqueUsers: 1, sessions: 1, connections: 1 },
        { bucket: iso(0), key: "LAB\\carl", uniqueUsers: 1, sessions: 1, connections: 0 },
      ],
    ],
    [
      "host",
      [
        { bucket: iso(0), key: "node1", uniqueUsers: 2, sessions: 2, connections: 2 },
        { bucket: iso(0), key: "node2", uniqueUsers: 1, sessions: 1, connections: 0 },
      ],
    ],
    ["browser", [{ bucket: iso(0), key: "Chrome", uniqueUsers: 3, sessions: 3, connections: 2 }]],
  ] as const)("by %s over one hour", async (by, rows) => {
    const part = await known();
    expect(part.queries.usage({ from: T0, to: T0 + 60 * MIN, bucket: "hour", by })).toStrictEqual({
      rows: rows as never,
      truncated: false,
    });
  });
});

describe("usage by browser and OS major version (reference §19)", () => {
  const row = (hour: number, key: string, users: number, connections: number) => ({
    bucket: new Date(T0 + hour * 60 * MIN).toISOString(),
    key,
    uniqueUsers: users,
    sessions: users,
    connections,
  });
  // Session events carry no user agent: "unknown" counts them by browser and os, not by version.
  test.each([
    [
      "browserVersion",
      [
        row(0, "Chrome 119", 1, 1),
        row(0, "Chrome 120", 1, 1),
        row(0, "Firefox 121", 1, 1),
        row(0, "Opera", 1, 1),
        row(0, "Safari 17", 1, 1),
        row(1, "Chrome 120", 1, 1),
      ],
    ],
    [
      "osVersion",
      [
        row(0, "Linux", 1, 1),
        row(0, "Mac OS 14", 1, 1),
        row(0, "Windows 10", 2, 2),
        row(0, "unknown", 1, 1),
        row(1, "Windows 10", 1, 1),
      ],
    ],
    [
      "browser",
      [
        row(0, "Chrome", 2, 2),
        row(0, "Firefox", 1, 1),
        row(0, "Opera", 1, 1),
        row(0, "Safari", 1, 1),
        row(0, "unknown", 1, 0),
        row(1, "Chrome", 1, 1),
      ],
    ],
    [
      "os",
      [
        row(0, "Linux", 1, 1),
        row(0, "Mac OS", 1, 1),
        row(0, "Windows", 2, 2),
        row(0, "unknown", 2, 1),
        row(1, "Windows", 1, 1),
      ],
    ],
  ] as const)("by %s over two hours", async (by, rows) => {
    const o = await openPart();
    open.push(o);
    await store(o.part, mixedEvents());
    expect(o.part.queries.usage({ from: T0, to: T0 + 120 * MIN, bucket: "hour", by })).toStrictEqual({
      rows: rows as never,
      truncated: false,
    });
  });

  test("a user agent that is not JSON (a damaged file) counts as unknown, not as an error", async () => {
    const o = await openPart();
    open.push(o);
    await store(o.part, mixedEvents());
    const db = new Database(join(o.dir.path, "h.sqlite"));
    db.run("UPDATE agents SET ua = '{broken' WHERE msg = ?", ["UserAgent: 'agent of dora'"]);
    db.close();
    const keys = o.part.queries
      .usage({ from: T0, to: T0 + 60 * MIN, bucket: "hour", by: "browserVersion" })
      .rows.map((r) => r.key);
    expect(keys).toStrictEqual(["Chrome 119", "Chrome 120", "Firefox", "Opera", "Safari 17"]);
  });
});

describe("concurrency (reference §19)", () => {
  test("peak sessions and distinct users per 15 minutes", async () => {
    const part = await known();
    expect(part.queries.concurrency({ from: T0, to: T0 + 60 * MIN, step: 15 * MIN })).toStrictEqual([
      { t: iso(0), sessions: 2, users: 2 },
      { t: iso(15), sessions: 3, users: 3 },
      { t: iso(30), sessions: 2, users: 2 },
      { t: iso(45), sessions: 1, users: 1 },
    ]);
  });

  test("the interval tracker agrees with the session tracker at every instant", () => {
    const actions = ["Start session", "Stop session", "Open connection", "Close connection"];
    fc.assert(
      fc.property(
        fc.array(
          fc.tuple(
            fc.integer({ min: 0, max: 120 }),
            fc.constantFrom(...actions),
            fc.constantFrom("a", "b", "A"),
          ),
          {
            maxLength: 30,
          },
        ),
        fc.integer({ min: 0, max: 200 }),
        (raw, probe) => {
          const rows = raw
            .map(([m, action, user]) => [m, action, user] as [number, string, string])
            .sort((x, y) => x[0] - y[0]);
          const list = events(rows);
          let now = 0;
          const tracker = createSessionTracker({ idleTimeoutMinutes: 10, now: () => now });
          const ends: { start: number; end: number }[] = [];
          const intervals = createIntervalTracker(10, (i) => ends.push(i));
          const at = T0 + probe * MIN;
          for (const e of list) {
            const ms = Date.parse(e.receivedAt);
            if (ms > at) break;
            now = ms;
            tracker.update(e);
            intervals.update(ms, e);
          }
          now = at;
          intervals.finish();
          const open = ends.filter((i) => i.start <= at && at < i.end).length;
          expect(open).toBe(tracker.count);
        },
      ),
    );
  });
});
