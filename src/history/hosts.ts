import type { Database } from "bun:sqlite";

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;

/** One `/api/hosts` entry. */
export interface HostView {
  host: string;
  firstSeen: string | null;
  lastSeen: string | null;
  eventsLastHour: number;
  eventsLastDay: number;
  silent: boolean;
}

/** Whether a host last heard from at `last` is silent at `now` (`silentAfterMinutes` 0 = never). */
export const isSilent = (last: number, now: number, silentAfterMinutes: number): boolean =>
  silentAfterMinutes > 0 && now - last >= silentAfterMinutes * 60_000;

/** Every proxy node heard from, with its event counts over the last hour and day (bounded by `limit`). */
export function listHosts(db: Database, now: number, silentAfterMinutes: number, limit = 10_000): HostView[] {
  const counts = new Map<number, [number, number]>();
  const rows = db
    .query(
      "SELECT host, SUM(ts >= ?) AS hour, COUNT(*) AS day FROM events WHERE ts >= ? AND ts <= ? GROUP BY host",
    )
    .values(now - HOUR_MS, now - DAY_MS, now) as [number, number, number][];
  for (const [host, hour, day] of rows) counts.set(host, [hour, day]);
  const hosts = db
    .query("SELECT id, name, first_ms, last_ms FROM hosts ORDER BY name LIMIT ?")
    .values(limit) as [number, string, number | null, number | null][];
  return hosts.map(([id, name, first, last]) => ({
    host: name,
    firstSeen: first === null ? null : new Date(first).toISOString(),
    lastSeen: last === null ? null : new Date(last).toISOString(),
    eventsLastHour: counts.get(id)?.[0] ?? 0,
    eventsLastDay: counts.get(id)?.[1] ?? 0,
    silent: last !== null && isSilent(last, now, silentAfterMinutes),
  }));
}
