import { Database } from "bun:sqlite";
import { afterEach, expect, test } from "bun:test";
import { join } from "node:path";
import { createHistoryPart, type HistoryPart } from "../../src/history/part.ts";
import { silentLogger } from "../../src/log.ts";
import { type TempDir, tempDir } from "../support/process.ts";
import { events, historyConfig, KNOWN, MIN, openPart, type Row, store, T0 } from "./support.ts";

const DAY = 24 * 60 * MIN;
const open: { part: HistoryPart; dir: TempDir }[] = [];
afterEach(async () => {
  for (const o of open.splice(0)) {
    await o.part.close();
    o.dir.cleanup();
  }
});

test("events older than retentionDays are deleted and counted; sessions after them still replay", async () => {
  let now = T0 + 100 * DAY;
  const o = await openPart({ history: { retentionDays: 90 }, now: () => now });
  open.push(o);
  const old = events(KNOWN, 1, T0);
  const recent = events(KNOWN, 9, T0 + 99 * DAY);
  await store(o.part, [...old, ...recent]);
  expect(o.part.stats().events).toBe(16);
  await o.part.prune();
  const stats = o.part.stats();
  expect(stats.pruned).toStrictEqual({ retention: 8, size: 0 });
  expect(stats.events).toBe(8);
  expect(stats.oldest).toBe(new Date(T0 + 99 * DAY).toISOString());
  expect(o.part.queries.active(T0 + 99 * DAY + 5 * MIN).count).toBe(2);
  now += DAY;
  await o.part.prune();
  expect(o.part.stats().pruned.retention).toBe(8);
});

test("past maxBytes the oldest events go first, counted as size prunes", async () => {
  const o = await openPart({ history: { maxBytes: 1_048_576 }, now: () => T0 + DAY });
  open.push(o);
  const rows: Row[] = [];
  for (let i = 0; i < 30_000; i++)
    rows.push([i / 1000, "Open connection", `user${i % 5000}`, `node${i % 7}`]);
  await store(o.part, events(rows));
  expect(o.part.stats().bytes).toBeGreaterThan(1_048_576);
  await o.part.prune();
  const stats = o.part.stats();
  expect(stats.bytes).toBeLessThanOrEqual(1_048_576);
  expect(stats.pruned.size).toBeGreaterThan(0);
  expect(stats.events).toBe(30_000 - stats.pruned.size);
  // Oldest first: what is left is the newest, up to the last event.
  const newest = o.part.queries.events({ from: 0, to: T0 + DAY }, 1, null).events[0];
  expect(newest?.id).toBe(30_000);
  expect(o.part.queries.events({ from: 0, to: T0 + DAY }, 1, null).events).toHaveLength(1);
});

test("a version 1 file written by hand is upgraded and read (reference §19 migrations)", async () => {
  const dir = tempDir("sense-events-history-");
  const path = join(dir.path, "h.sqlite");
  const db = new Database(path, { create: true });
  db.exec(`
    CREATE TABLE hosts(id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE);
    CREATE TABLE users(id INTEGER PRIMARY KEY, dir TEXT NOT NULL, uid TEXT NOT NULL, UNIQUE(dir, uid));
    CREATE TABLE apps(id INTEGER PRIMARY KEY, app_id TEXT NOT NULL, app_name TEXT, UNIQUE(app_id, app_name));
    CREATE TABLE agents(id INTEGER PRIMARY KEY, msg TEXT NOT NULL UNIQUE, ua TEXT, browser TEXT, os TEXT);
    CREATE TABLE strs(id INTEGER PRIMARY KEY, s TEXT NOT NULL UNIQUE);
    CREATE TABLE events(id INTEGER PRIMARY KEY, ts INTEGER NOT NULL, host INTEGER NOT NULL, user INTEGER NOT NULL,
      action INTEGER NOT NULL, app INTEGER, src INTEGER NOT NULL, origin INTEGER NOT NULL, context INTEGER NOT NULL,
      agent INTEGER NOT NULL, addr INTEGER NOT NULL);
    CREATE INDEX events_ts ON events(ts);
    INSERT INTO hosts VALUES (1, 'node1');
    INSERT INTO users VALUES (1, 'LAB', 'anna');
    INSERT INTO agents VALUES (1, '', NULL, NULL, NULL);
    INSERT INTO strs VALUES (1, 'Start session'), (2, 'qseow-proxy-session'), (3, 'AppAccess'), (4, '/'), (5, '10.0.0.1');
    INSERT INTO events VALUES (1, ${T0}, 1, 1, 1, NULL, 2, 3, 4, 1, 5);
    PRAGMA user_version = 1;
  `);
  db.close();
  const part = await createHistoryPart({
    config: historyConfig(dir.path),
    log: silentLogger,
    now: () => T0 + MIN,
  });
  if (part === null) throw new Error("history is off");
  open.push({ part, dir });
  expect(part.queries.events({ from: 0, to: T0 + MIN }, 10, null).events).toStrictEqual([
    {
      id: 1,
      receivedAt: new Date(T0).toISOString(),
      source: "qseow-proxy-session",
      host: "node1",
      action: "Start session",
      userDirectory: "LAB",
      userId: "anna",
      origin: "AppAccess",
      context: "/",
      appId: null,
      appName: null,
      message: "",
      userAgent: null,
      remoteAddress: "10.0.0.1",
    },
  ]);
  // Version 4 lists the hours each user has events in; the upgrade fills it from the events stored.
  expect(
    part.queries.events({ from: 0, to: T0 + MIN, user: "lab\\ANNA" }, 10, null).events.map((e) => e.id),
  ).toStrictEqual([1]);
  expect(part.queries.hosts()[0]?.firstSeen).toBe(new Date(T0).toISOString());
  expect(part.queries.active(T0 + MIN).count).toBe(1);
  expect(part.lastId()).toBe(1);
});

test("a file of a newer schema is refused, not changed", async () => {
  const dir = tempDir("sense-events-history-");
  const path = join(dir.path, "h.sqlite");
  const db = new Database(path, { create: true });
  db.exec("PRAGMA user_version = 99");
  db.close();
  try {
    await expect(createHistoryPart({ config: historyConfig(dir.path), log: silentLogger })).rejects.toThrow(
      "schema version 99",
    );
  } finally {
    dir.cleanup();
  }
});

test("a host that goes silent is warned about once, and once more when it is back", async () => {
  let now = T0 + 26 * MIN;
  const o = await openPart({ extra: { hosts: { silentAfterMinutes: 10 } }, now: () => now });
  open.push(o);
  await store(o.part, events(KNOWN));
  o.part.checkHosts();
  now = T0 + 36 * MIN;
  o.part.checkHosts();
  o.part.checkHosts();
  await store(o.part, events([[37, "Start session", "dora", "node2"]], 9));
  now = T0 + 37 * MIN;
  o.part.checkHosts();
  const hostLines = o.lines.filter((l) => l.includes("[hosts]"));
  expect(hostLines).toHaveLength(2);
  expect(hostLines[0]).toContain("warn: [hosts] node2 is silent");
  expect(hostLines[1]).toContain("info: [hosts] node2 is sending events again");
  expect(o.part.stats().hostLastEventSeconds).toStrictEqual({
    node1: (T0 + 40 * MIN) / 1000,
    node2: (T0 + 37 * MIN) / 1000,
  });
});
