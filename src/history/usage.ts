import type { Database } from "bun:sqlite";

/** Grouping keys of `/api/history/usage`. */
export const USAGE_BY = ["app", "user", "host", "browser", "os", "browserVersion", "osVersion"] as const;
/** Bucket sizes of `/api/history/usage`. */
export const USAGE_BUCKETS = { hour: 3_600_000, day: 86_400_000 } as const;
/** Most rows in one answer. */
export const USAGE_LIMIT = 10_000;

/** One `/api/history/usage` row. */
export interface UsageRow {
  bucket: string;
  key: string;
  appName?: string | null;
  uniqueUsers: number;
  sessions: number;
  connections: number;
}

/** A field of the stored user agent (`agents.ua` is the JSON of the event's `userAgent`), else NULL. */
const uaField = (field: string) => `CASE WHEN json_valid(ua) THEN json_extract(ua, '$.${field}') END`;

/** "<name> <major>" of a version grouping; the name alone without a version, "unknown" without a name. */
function versionKey(name: string | null, version: unknown, major: (v: string) => string): [string, null] {
  if (name === null) return ["unknown", null];
  const v = version === null || version === undefined ? "" : major(String(version));
  return [v === "" ? name : `${name} ${v}`, null];
}

const plain = (key: string | null): [string, null] => [key ?? "unknown", null];

/**
 * The column of the events table each grouping reads, and how its ids become keys: `sql` reads
 * (id, a, b) from a dictionary once per query, `key` turns a and b into the key and app name. The
 * version keys are the browser's major version as parsed and the OS version up to its first dot
 * ("Chrome 120", "Windows 10", "Mac OS 14"). Events without a user agent (session events) are left
 * out of them, so their "unknown" means an agent that was not recognised.
 */
const KEYS: Record<
  (typeof USAGE_BY)[number],
  { column: string; sql: string; key: (a: string | null, b: unknown) => [string, string | null] }
> = {
  app: {
    column: "app",
    sql: "SELECT id, app_id, app_name FROM apps",
    key: (a, b) => [a ?? "", b as string | null],
  },
  user: { column: "user", sql: "SELECT id, dir || '\\' || uid, NULL FROM users", key: plain },
  host: { column: "host", sql: "SELECT id, name, NULL FROM hosts", key: plain },
  browser: { column: "agent", sql: "SELECT id, browser, NULL FROM agents", key: plain },
  os: { column: "agent", sql: "SELECT id, os, NULL FROM agents", key: plain },
  browserVersion: {
    column: "agent",
    sql: `SELECT id, browser, ${uaField("browserMajorVersion")} FROM agents WHERE ua IS NOT NULL`,
    key: (a, b) => versionKey(a, b, (v) => v),
  },
  osVersion: {
    column: "agent",
    sql: `SELECT id, os, ${uaField("osVersion")} FROM agents WHERE ua IS NOT NULL`,
    key: (a, b) => versionKey(a, b, (v) => v.split(".", 1)[0] as string),
  },
};

interface Group {
  bucket: number;
  key: string;
  appName: string | null;
  users: Set<number>;
  sessions: Set<number>;
  connections: number;
}

/**
 * Usage per bucket and key over [from, to): distinct users, sessions (distinct user and host pairs
 * with an event in the bucket) and connections opened. Buckets start at UTC hour or day boundaries.
 * The rows are read as integers and grouped here: cheaper than SQL's DISTINCT over joined strings.
 */
export function usage(
  db: Database,
  q: { from: number; to: number; bucket: keyof typeof USAGE_BUCKETS; by: (typeof USAGE_BY)[number] },
): { rows: UsageRow[]; truncated: boolean } {
  const size = USAGE_BUCKETS[q.bucket];
  const k = KEYS[q.by];
  const open = (db.query("SELECT id FROM strs WHERE s = 'Open connection'").get() as { id: number } | null)
    ?.id;
  const rows = db
    .query(
      `SELECT ts, ${k.column}, user, host, action FROM events WHERE ts >= ? AND ts < ? AND ${k.column} IS NOT NULL`,
    )
    .values(q.from, q.to) as [number, number, number, number, number][];
  // Keys only for the dictionary rows the range uses: the agents table has a row per distinct
  // message (one per session), so reading all of it would grow with the whole file, not the range.
  const ids = new Set<number>();
  for (const r of rows) ids.add(r[1]);
  const names = new Map<number, [string, string | null]>();
  const lookup = db.query(`SELECT * FROM (${k.sql}) WHERE id IN (SELECT value FROM json_each(?))`);
  for (const [id, a, b] of lookup.values(JSON.stringify([...ids])) as [number, string | null, unknown][]) {
    names.set(id, k.key(a, b));
  }
  const groups = new Map<string, Group>();
  for (const [ts, id, user, host, action] of rows) {
    const bucket = ts - (ts % size);
    const named = names.get(id);
    if (named === undefined) continue;
    const id2 = `${bucket}\n${named[0]}`;
    let g = groups.get(id2);
    if (g === undefined) {
      g = { bucket, key: named[0], appName: null, users: new Set(), sessions: new Set(), connections: 0 };
      groups.set(id2, g);
    }
    // The newest name wins (dictionary ids grow with time).
    if (named[1] !== null) g.appName = named[1];
    g.users.add(user);
    g.sessions.add(user * 1_048_576 + host);
    if (action === open) g.connections++;
  }
  const sorted = [...groups.values()].sort(
    (a, b) => a.bucket - b.bucket || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0),
  );
  const truncated = sorted.length > USAGE_LIMIT;
  return {
    truncated,
    rows: sorted.slice(0, USAGE_LIMIT).map((g) => ({
      bucket: new Date(g.bucket).toISOString(),
      key: g.key,
      ...(q.by === "app" ? { appName: g.appName } : {}),
      uniqueUsers: g.users.size,
      sessions: g.sessions.size,
      connections: g.connections,
    })),
  };
}
