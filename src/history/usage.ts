import type { Database } from "bun:sqlite";

/** Grouping keys of `/api/history/usage`. */
export const USAGE_BY = ["app", "user", "host", "browser", "os"] as const;
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

const KEY_SQL: Record<(typeof USAGE_BY)[number], { key: string; join: string }> = {
  app: { key: "p.app_id", join: "JOIN apps p ON p.id = e.app" },
  user: { key: "u.dir || '\\' || u.uid", join: "JOIN users u ON u.id = e.user" },
  host: { key: "h.name", join: "JOIN hosts h ON h.id = e.host" },
  browser: { key: "COALESCE(g.browser, 'unknown')", join: "JOIN agents g ON g.id = e.agent" },
  os: { key: "COALESCE(g.os, 'unknown')", join: "JOIN agents g ON g.id = e.agent" },
};

/**
 * Usage per bucket and key over [from, to): distinct users, sessions (distinct user and host pairs
 * with an event in the bucket) and connections opened. Buckets start at UTC hour or day boundaries.
 */
export function usage(
  db: Database,
  q: { from: number; to: number; bucket: keyof typeof USAGE_BUCKETS; by: (typeof USAGE_BY)[number] },
): { rows: UsageRow[]; truncated: boolean } {
  const size = USAGE_BUCKETS[q.bucket];
  const k = KEY_SQL[q.by];
  const open = db.query("SELECT id FROM strs WHERE s = 'Open connection'").get() as { id: number } | null;
  const sql = `
    SELECT (e.ts / ${size}) * ${size} AS bucket, ${k.key} AS key,
      ${q.by === "app" ? "MAX(p.app_name)" : "NULL"} AS app_name,
      COUNT(DISTINCT e.user) AS users,
      COUNT(DISTINCT e.user * 1048576 + e.host) AS sessions,
      SUM(e.action = ?) AS connections
    FROM events e ${k.join}
    WHERE e.ts >= ? AND e.ts < ?
    GROUP BY bucket, key
    ORDER BY bucket, key
    LIMIT ${USAGE_LIMIT + 1}`;
  const rows = db.query(sql).values(open?.id ?? -1, q.from, q.to) as [
    number,
    string,
    string | null,
    number,
    number,
    number,
  ][];
  const truncated = rows.length > USAGE_LIMIT;
  if (truncated) rows.length = USAGE_LIMIT;
  return {
    truncated,
    rows: rows.map(([bucket, key, appName, users, sessions, connections]) => ({
      bucket: new Date(bucket).toISOString(),
      key,
      ...(q.by === "app" ? { appName } : {}),
      uniqueUsers: users,
      sessions,
      connections,
    })),
  };
}
