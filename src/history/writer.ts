import type { Database, Statement } from "bun:sqlite";
import { createDictionaries, type Dictionaries } from "./dictionaries.ts";
import type { HistoryItem } from "./item.ts";
import { checkpointAt, createReplayTracker, packState, type ReplayTracker, replayEvents } from "./replay.ts";

/** Checkpoints are saved when event time crosses a multiple of this (ms). */
export const CHECKPOINT_EVERY_MS = 60 * 60 * 1000;

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
  const insert: Statement = db.query(
    `INSERT OR IGNORE INTO events(id, ts, host, user, action, app, src, origin, context, agent, addr)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  );
  const saveCheckpoint: Statement = db.query(
    "INSERT OR REPLACE INTO checkpoints(t, last_id, state) VALUES (?, ?, ?)",
  );
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
  const maxRow = db.query("SELECT MAX(id) AS id, MAX(ts) AS ts FROM events").get() as {
    id: number | null;
    ts: number | null;
  };
  lastId = Math.max(lastId, maxRow.id ?? 0);
  let lastMs = maxRow.ts ?? 0;
  let nextCheckpoint = Math.floor(lastMs / CHECKPOINT_EVERY_MS) * CHECKPOINT_EVERY_MS + CHECKPOINT_EVERY_MS;

  function checkpointAt_(t: number): void {
    sessions.setNow(t);
    sessions.tracker.expire();
    saveCheckpoint.run(t, lastId, packState(sessions.tracker.snapshot()));
  }

  const writeAll = db.transaction((items: HistoryItem[]): number => {
    const touched = new Set<string>();
    let added = 0;
    for (const { event: e, ms } of items) {
      if (e.id <= lastId) continue;
      // The first boundary after the previous event: every earlier event is before it, this one after.
      if (ms >= nextCheckpoint && lastId > 0) checkpointAt_(nextCheckpoint);
      if (ms >= nextCheckpoint)
        nextCheckpoint = Math.floor(ms / CHECKPOINT_EVERY_MS) * CHECKPOINT_EVERY_MS + CHECKPOINT_EVERY_MS;
      added += insert.run(
        e.id,
        ms,
        dict.hosts.id(e.host, () => [e.host]),
        // Length-prefixed keys cannot collide, whatever characters the fields hold.
        dict.users.id(`${e.userDirectory.length}:${e.userDirectory}${e.userId}`, () => [
          e.userDirectory,
          e.userId,
        ]),
        dict.strs.id(e.action, () => [e.action]),
        e.appId === null
          ? null
          : dict.apps.id(
              e.appName === null ? `n${e.appId}` : `${e.appId.length}:${e.appId}${e.appName}`,
              () => [e.appId, e.appName],
            ),
        dict.strs.id(e.source, () => [e.source]),
        dict.strs.id(e.origin, () => [e.origin]),
        dict.strs.id(e.context, () => [e.context]),
        dict.agents.id(e.message, () => [
          e.message,
          e.userAgent === null ? null : JSON.stringify(e.userAgent),
          e.userAgent?.browserName ?? null,
          e.userAgent?.osName ?? null,
        ]),
        dict.strs.id(e.remoteAddress, () => [e.remoteAddress]),
      ).changes;
      sessions.setNow(ms);
      sessions.tracker.update(e);
      const seen = hosts.get(e.host);
      if (seen === undefined) hosts.set(e.host, { first: ms, last: ms });
      else if (ms > seen.last) seen.last = ms;
      touched.add(e.host);
      lastId = e.id;
      if (ms > lastMs) lastMs = ms;
    }
    for (const host of touched) {
      const seen = hosts.get(host) as HostSeen;
      saveHost.run(seen.first, seen.last, host);
    }
    return added;
  });

  return {
    write: (items) => writeAll(items),
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
