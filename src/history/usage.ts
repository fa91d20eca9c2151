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

/**
 * The column of the events table each grouping reads, and how its ids become keys. The version keys
 * are "<name> <major>": the browser's major version as parsed, the OS version up to its first dot
 * ("Windows 10", "Mac OS 14"); the name alone when the version is unknown, "unknown" without a name.
 * Events without a user agent (session events) are left out of them, so "unknown" means an agent
 * that was not recognised. Computed once per dictionary row, they cost the events scan nothing.
 */
const KEYS: Record<(typeof USAGE_BY)[number], { column: string; sql: string }> = {
  app: { column: "app", sql: "SELECT id, app_id, app_name FROM apps" },
  user: { column: "user", sql: "SELECT id, dir || '\\' || uid, NULL FROM users" },
  host: { column: "host", sql: "SELECT id, name, NULL FROM hosts" },
  browser: { column: "agent", sql: "SELECT id, COALESCE(browser, 'unknown'), NULL FROM agents" },
  os: { column: "agent", sql: "SELECT id, COALESCE(os, 'unknown'), NULL FROM agents" },
  browserVersion: {
    column: "agent",
    sql: `SELECT id, CASE WHEN browser IS NULL THEN 'unknown'
      ELSE browser || COALESCE(' ' || NULLIF(${uaField("browserMajorVersion")}, ''), '') END, NULL
      FROM agents WHERE ua IS NOT NULL`,
  },
  osVersion: {
    column: "agent",
    sql: `SELECT id, CASE WHEN os IS NULL THEN 'unknown'
      ELSE os || COALESCE(' ' || NULLIF(substr(v, 1, instr(v || '.', '.') - 1), ''), '') END, NULL
      FROM (SELECT id, os, ${uaField("osVersion")} AS v FROM agents WHERE ua IS NOT NULL)`,
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
  const names = new Map<number, [string, string | null]>();
  for (const [id, key, name] of db.query(k.sql).values() as [number, string, string | null][]) {
    names.set(id, [key, name]);
  }
  const open = (db.query("SELECT id FROM strs WHERE s = 'Open connection'").get() as { id: number } | null)
    ?.id;
  const rows = db
    .query(
      `SELECT ts, ${k.column}, user, host, action FROM events WHERE ts >= ? AND ts < ? AND ${k.column} IS NOT NULL`,
    )
    .values(q.from, q.to) as [number, number, number, number, number][];
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
