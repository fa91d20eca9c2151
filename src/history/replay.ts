import type { Database } from "bun:sqlite";
import type { UserEvent } from "../events/event.ts";
import { createSessionTracker, type SessionState, type SessionTracker } from "../events/sessions.ts";

/** A saved tracker state: every event with an id up to `lastId` applied, saved at time `t` (ms). */
export interface Checkpoint {
  t: number;
  lastId: number;
  state: SessionState[];
}

/** One session in a checkpoint: positional and without the ISO strings (derived from ms), to stay small. */
type PackedSession = [string, string, string, number | null, number, number, [string, number][]];

/** Packs a tracker snapshot for the checkpoints table: compact JSON, deflated. */
export function packState(states: SessionState[]): Uint8Array {
  const packed: PackedSession[] = states.map((s) => [
    s.host,
    s.userDirectory,
    s.userId,
    s.startedAt === null ? null : Date.parse(s.startedAt),
    s.lastEventMs,
    s.openConnections,
    s.apps,
  ]);
  return Bun.deflateSync(new TextEncoder().encode(JSON.stringify(packed)));
}

/** Unpacks a state written by {@link packState}. */
export function unpackState(blob: Uint8Array<ArrayBuffer>): SessionState[] {
  const packed = JSON.parse(new TextDecoder().decode(Bun.inflateSync(blob))) as PackedSession[];
  return packed.map(([host, userDirectory, userId, started, last, openConnections, apps]) => ({
    host,
    userDirectory,
    userId,
    startedAt: started === null ? null : new Date(started).toISOString(),
    lastEventAt: new Date(last).toISOString(),
    lastEventMs: last,
    openConnections,
    apps,
  }));
}

/** The newest checkpoint saved at or before `at`, or null. */
export function checkpointAt(db: Database, at: number): Checkpoint | null {
  const row = db
    .query("SELECT t, last_id, state FROM checkpoints WHERE t <= ? ORDER BY t DESC LIMIT 1")
    .get(at) as { t: number; last_id: number; state: Uint8Array<ArrayBuffer> } | null;
  return row === null ? null : { t: row.t, lastId: row.last_id, state: unpackState(row.state) };
}

/** The first checkpoint saved after `at`: no event it covers can matter after `at`. */
export function checkpointAfter(db: Database, at: number): number | null {
  const row = db.query("SELECT last_id FROM checkpoints WHERE t > ? ORDER BY t LIMIT 1").get(at) as {
    last_id: number;
  } | null;
  return row?.last_id ?? null;
}

/** The fields of a stored event the session tracker reads, one row per event in id order. */
const REPLAY_SQL = `
SELECT e.id, e.ts, h.name AS host, u.dir, u.uid, a.s AS action, p.app_id
FROM events e
JOIN hosts h ON h.id = e.host
JOIN users u ON u.id = e.user
JOIN strs a ON a.id = e.action
LEFT JOIN apps p ON p.id = e.app
WHERE e.id > ? AND e.id <= ? AND e.ts <= ?
ORDER BY e.id`;

interface ReplayRow {
  id: number;
  ts: number;
  host: string;
  dir: string;
  uid: string;
  action: string;
  app_id: string | null;
}

/** A tracker whose clock is moved by hand (event times during a replay). */
export interface ReplayTracker {
  tracker: SessionTracker;
  /** Sets the tracker's clock. */
  setNow(ms: number): void;
}

/** Creates a session tracker driven by an explicit clock, for replays and the history writer. */
export function createReplayTracker(idleTimeoutMinutes: number): ReplayTracker {
  let now = 0;
  const tracker = createSessionTracker({ idleTimeoutMinutes, now: () => now });
  return { tracker, setNow: (ms) => (now = ms) };
}

let isoMs = Number.NaN;
let iso = "";
let secondMs = Number.NaN;
let secondIso = "";
/** Year 10000: from here `toISOString` writes six-digit years. */
const ISO_END_MS = 253_402_300_800_000;

/**
 * `new Date(ms).toISOString()`, remembering the last answer (replays see runs of equal times) and the
 * last second's text (a batch sees runs of equal seconds), so most calls build no Date.
 */
export function isoOf(ms: number): string {
  if (ms === isoMs) return iso;
  // Remembered only once formatted: a time Date cannot hold throws again next time.
  let text: string;
  if (!Number.isInteger(ms) || ms < 0 || ms >= ISO_END_MS) {
    text = new Date(ms).toISOString();
  } else {
    const rest = ms % 1000;
    const second = ms - rest;
    if (second !== secondMs) {
      secondIso = new Date(second).toISOString().slice(0, 20);
      secondMs = second;
    }
    text = `${secondIso}${rest < 10 ? "00" : rest < 100 ? "0" : ""}${rest}Z`;
  }
  isoMs = ms;
  iso = text;
  return text;
}

/** The minimal event the tracker needs, built from a replay row. */
function replayEvent(row: ReplayRow): UserEvent {
  return {
    id: row.id,
    receivedAt: isoOf(row.ts),
    source: "qseow-proxy-session",
    host: row.host,
    action: row.action,
    userDirectory: row.dir,
    userId: row.uid,
    origin: "",
    context: "",
    appId: row.app_id,
    appName: null,
    message: "",
    userAgent: null,
    remoteAddress: "",
  };
}

/**
 * Replays stored events into `replay` with their own timestamps: those with an id in (`afterId`,
 * `uptoId`] received at or before `at`. Calls `onEvent` after each one. Returns the last id applied.
 */
export function replayEvents(
  db: Database,
  replay: ReplayTracker,
  range: { afterId: number; uptoId: number; at: number },
  onEvent?: (ms: number, event: UserEvent) => void,
): number {
  let last = range.afterId;
  for (const row of db
    .query(REPLAY_SQL)
    .iterate(range.afterId, range.uptoId, range.at) as Iterable<ReplayRow>) {
    replay.setNow(row.ts);
    const event = replayEvent(row);
    replay.tracker.update(event);
    onEvent?.(row.ts, event);
    last = row.id;
  }
  return last;
}

/**
 * The session tracker as it stood at instant `at` (ms), had the process kept running: the newest
 * checkpoint before `at`, then the stored events up to `at`, then the clock set to `at`.
 */
export function sessionsAt(db: Database, at: number, idleTimeoutMinutes: number): ReplayTracker {
  const replay = createReplayTracker(idleTimeoutMinutes);
  const cp = checkpointAt(db, at);
  if (cp !== null) replay.tracker.restore(cp.state);
  const upto = checkpointAfter(db, at) ?? Number.MAX_SAFE_INTEGER;
  replayEvents(db, replay, { afterId: cp?.lastId ?? 0, uptoId: upto, at });
  replay.setNow(at);
  replay.tracker.expire();
  return replay;
}
