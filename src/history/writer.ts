import type { Database, Statement } from "bun:sqlite";
import type { UserEvent } from "../events/event.ts";
import { createDictionaries, type Dictionaries } from "./dictionaries.ts";
import { extentOf } from "./extent.ts";
import type { HistoryItem } from "./item.ts";
import { checkpointAt, createReplayTracker, packState, type ReplayTracker, replayEvents } from "./replay.ts";
import { createRowInserter } from "./row-inserter.ts";

/** Checkpoints are saved when event time crosses a multiple of this (ms). */
export const CHECKPOINT_EVERY_MS = 60 * 60 * 1000;

/** Most userIds / appIds whose dictionary id the writer remembers (hostile input can invent many). */
const KEY_CACHE_LIMIT = 50_000;
const HOUR_MS = 3_600_000;

/** First and last event time of one proxy node, in ms. */
export interface HostSeen {
  first: number;
  last: number;
}

/** Writes events into the history file and keeps the sessions they imply. */
export interface HistoryWriter {
  /**
   * Stores decoded items in one transaction (duplicates by id are ignored: delivery is at least
   * once); returns how many were new.
   */
  write(items: HistoryItem[]): number;
  /** The id of the newest stored event (0 when empty). */
  lastId(): number;
  /** The session tracker after the newest stored event (its clock is event time). */
  readonly sessions: ReplayTracker;
  /** First and last event time per host. */
  readonly hosts: Map<string, HostSeen>;
  /** Changes the idle timeout used to replay and checkpoint sessions. */
  setIdleTimeout(minutes: number): void;
  /** Saves the current sessions as a checkpoint (at close, so a restart replays little). */
  checkpoint(): void;
}

/** Creates the writer; restores the sessions from the newest checkpoint and the events after it. */
export function createHistoryWriter(db: Database, idleTimeoutMinutes: number): HistoryWriter {
  const dict: Dictionaries = createDictionaries(db);
  const rows = createRowInserter(db);
  const saveCheckpoint: Statement = db.query(
    "INSERT OR REPLACE INTO checkpoints(t, last_id, state) VALUES (?, ?, ?)",
  );
  const saveUserHour: Statement = db.query("INSERT OR IGNORE INTO user_hours(user, hour) VALUES (?, ?)");
  // The last hour recorded per user id: a user's first event of an hour adds one user_hours row.
  const userHours = new Map<number, number>();
  const saveHost: Statement = db.query("UPDATE hosts SET first_ms = ?, last_ms = ? WHERE name = ?");

  const hosts = new Map<string, HostSeen>();
  for (const row of db.query("SELECT name, first_ms, last_ms FROM hosts WHERE last_ms IS NOT NULL").all() as {
    name: string;
    first_ms: number;
    last_ms: number;
  }[]) {
    hosts.set(row.name, { first: row.first_ms, last: row.last_ms });
  }

  let idle = idleTimeoutMinutes;
  const sessions = createReplayTracker(idle);
  const cp = checkpointAt(db, Number.MAX_SAFE_INTEGER);
  if (cp !== null) sessions.tracker.restore(cp.state);
  let lastId = replayEvents(db, sessions, {
    afterId: cp?.lastId ?? 0,
    uptoId: Number.MAX_SAFE_INTEGER,
    at: Number.MAX_SAFE_INTEGER,
  });
  const extent = extentOf(db);
  lastId = Math.max(lastId, extent.lastId ?? 0);
  let lastMs = extent.hi ?? 0;
  let nextCheckpoint = Math.floor(lastMs / CHECKPOINT_EVERY_MS) * CHECKPOINT_EVERY_MS + CHECKPOINT_EVERY_MS;

  function checkpointAt_(t: number): void {
    sessions.setNow(t);
    sessions.tracker.expire();
    saveCheckpoint.run(t, lastId, packState(sessions.tracker.snapshot()));
  }

  // The ids of the last user and app seen per userId / appId: most events repeat one of them, and a
  // hit costs a Map lookup and string compares instead of building a dictionary key.
  const userIds = new Map<string, { dir: string; id: number }>();
  const appIds = new Map<string, { name: string | null; id: number }>();

  function userOf(e: UserEvent): number {
    const hit = userIds.get(e.userId);
    if (hit !== undefined && hit.dir === e.userDirectory) return hit.id;
    // Length-prefixed keys cannot collide, whatever characters the fields hold.
    const id = dict.users.id(`${e.userDirectory.length}:${e.userDirectory}${e.userId}`, () => [
      e.userDirectory,
      e.userId,
    ]);
    if (userIds.size >= KEY_CACHE_LIMIT) userIds.clear();
    userIds.set(e.userId, { dir: e.userDirectory, id });
    return id;
  }

  function appOf(appId: string, appName: string | null): number {
    const hit = appIds.get(appId);
    if (hit !== undefined && hit.name === appName) return hit.id;
    const id = dict.apps.id(appName === null ? `n${appId}` : `${appId.length}:${appId}${appName}`, () => [
      appId,
      appName,
    ]);
    if (appIds.size >= KEY_CACHE_LIMIT) appIds.clear();
    appIds.set(appId, { name: appName, id });
    return id;
  }

  const writeAll = db.transaction((items: HistoryItem[]): number => {
    const touched = new Set<string>();
    let previousHost = "";
    let added = 0;
    for (const { event: e, ms } of items) {
      if (e.id <= lastId) continue;
      // The first boundary after the previous event: every earlier event is before it, this one after.
      if (ms >= nextCheckpoint && lastId > 0) {
        added += rows.flush();
        checkpointAt_(nextCheckpoint);
      }
      if (ms >= nextCheckpoint)
        nextCheckpoint = Math.floor(ms / CHECKPOINT_EVERY_MS) * CHECKPOINT_EVERY_MS + CHECKPOINT_EVERY_MS;
      const ua = e.userAgent;
      const user = userOf(e);
      const hour = Math.floor(ms / HOUR_MS);
      if (userHours.get(user) !== hour) {
        saveUserHour.run(user, hour);
        if (userHours.size >= KEY_CACHE_LIMIT) userHours.clear();
        userHours.set(user, hour);
      }
      rows.add(
        e.id,
        ms,
        dict.hosts.idOf(e.host),
        user,
        dict.strs.idOf(e.action),
        e.appId === null ? null : appOf(e.appId, e.appName),
        dict.strs.idOf(e.source),
        dict.strs.idOf(e.origin),
        dict.strs.idOf(e.context),
        dict.agents.id(e.message, () => [
          e.message,
          ua === null ? null : JSON.stringify(ua),
          ua?.browserName ?? null,
          ua?.osName ?? null,
        ]),
        dict.strs.idOf(e.remoteAddress),
      );
      sessions.setNow(ms);
      sessions.tracker.update(e);
      let seen = hosts.get(e.host);
      if (seen === undefined) {
        seen = { first: ms, last: ms };
        hosts.set(e.host, seen);
      } else if (ms > seen.last) seen.last = ms;
      if (e.host !== previousHost) {
        touched.add(e.host);
        previousHost = e.host;
      }
      lastId = e.id;
      if (ms > lastMs) lastMs = ms;
    }
    added += rows.flush();
    for (const host of touched) {
      const seen = hosts.get(host) as HostSeen;
      saveHost.run(seen.first, seen.last, host);
    }
    return added;
  });

  return {
    write(items) {
      const before = [lastId, lastMs, nextCheckpoint] as const;
      try {
        return writeAll(items);
      } catch (error) {
        // Rolled back: the outbox retries these items, so they must not count as stored.
        rows.reset();
        [lastId, lastMs, nextCheckpoint] = before;
        userHours.clear();
        throw error;
      }
    },
    lastId: () => lastId,
    sessions,
    hosts,
    setIdleTimeout(minutes) {
      idle = minutes;
      sessions.tracker.setIdleTimeout(idle);
    },
    checkpoint() {
      if (lastId === 0) return;
      // Saved just after the newest event: the next event (after a restart) comes later.
      checkpointAt_(lastMs + 1);
    },
  };
}
