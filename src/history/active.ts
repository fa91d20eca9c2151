import type { Database } from "bun:sqlite";
import { sessionsAt } from "./replay.ts";

/** Most sessions listed by `active` (the count is always exact). */
export const ACTIVE_LIMIT = 10_000;

/** The `/api/history/active` answer. */
export interface ActiveAnswer {
  at: string;
  count: number;
  sessions: {
    userDirectory: string;
    userId: string;
    host: string;
    since: string | null;
    apps: { appId: string; appName: string | null }[];
  }[];
}

/**
 * Who was on at instant `at` (ms): the sessions `/api/sessions` would have listed then (newest
 * activity first), with the apps they had a connection open to.
 */
export function activeAt(db: Database, at: number, idleTimeoutMinutes: number): ActiveAnswer {
  const { tracker } = sessionsAt(db, at, idleTimeoutMinutes);
  const views = tracker.list();
  const nameOf = db.query(
    "SELECT app_name FROM apps WHERE app_id = ? AND app_name IS NOT NULL ORDER BY id DESC LIMIT 1",
  );
  const names = new Map<string, string | null>();
  const appName = (appId: string): string | null => {
    let name = names.get(appId);
    if (name === undefined) {
      name = (nameOf.get(appId) as { app_name: string } | null)?.app_name ?? null;
      names.set(appId, name);
    }
    return name;
  };
  return {
    at: new Date(at).toISOString(),
    count: views.length,
    sessions: views.slice(0, ACTIVE_LIMIT).map((s) => ({
      userDirectory: s.userDirectory,
      userId: s.userId,
      host: s.host,
      since: s.startedAt,
      apps: s.appIds.map((appId) => ({ appId, appName: appName(appId) })),
    })),
  };
}
