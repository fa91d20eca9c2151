import type { Database } from "bun:sqlite";
import type { UserEvent } from "../events/event.ts";
import type { SessionState } from "../events/sessions.ts";
import { checkpointAfter, checkpointAt } from "./replay.ts";

const DAY_MS = 24 * 60 * 60 * 1000;

/** Step sizes of `/api/history/concurrency`. */
export const CONCURRENCY_STEPS = {
  "1m": 60_000,
  "5m": 300_000,
  "15m": 900_000,
  "1h": 3_600_000,
  "1d": DAY_MS,
} as const;
/** Most points in one answer. */
export const CONCURRENCY_LIMIT = 10_000;

/** One session's life: open from `start` (inclusive) to `end` (exclusive), of `user`. */
export interface SessionInterval {
  start: number;
  end: number;
  user: string;
}

interface Open {
  start: number;
  last: number;
  open: number;
  user: string;
}

/** Action codes of {@link IntervalTracker.step}. */
export const ACTION = { start: 0, stop: 1, open: 2, close: 3, other: 4 } as const;
const ACTION_CODES = new Map<string, number>([
  ["Start session", ACTION.start],
  ["Stop session", ACTION.stop],
  ["Open connection", ACTION.open],
  ["Close connection", ACTION.close],
]);

/** Follows session lives; see {@link createIntervalTracker}. */
export interface IntervalTracker {
  /** Starts from a tracker state (a checkpoint); starts are unknown and taken as the last event. */
  restore(states: SessionState[], keyOf: (s: SessionState) => string | number): void;
  /** Applies one event of session `key` (host, directory and user, case folded) of `user`. */
  step(at: number, key: string | number, user: string, action: number): void;
  /** Applies one event (the string-keyed form of `step`). */
  update(at: number, event: UserEvent): void;
  /** Ends every session still open, at its timeout. */
  finish(): void;
}

/**
 * Follows session starts and ends with the rules of the session tracker (reference §7: keyed by host,
 * directory and user ignoring case; created by Start session or Open connection; ended by Stop
 * session or by the idle timeout, 24 h while a connection is open) and reports each closed life.
 */
export function createIntervalTracker(
  idleTimeoutMinutes: number,
  onEnd: (interval: SessionInterval) => void,
): IntervalTracker {
  const idleMs = idleTimeoutMinutes * 60_000;
  const sessions = new Map<string | number, Open>();
  const timeout = (s: Open) => (s.open > 0 ? DAY_MS : idleMs);
  const end = (key: string | number, s: Open, at: number) => {
    sessions.delete(key);
    onEnd({ start: s.start, end: at, user: s.user });
  };
  function step(at: number, key: string | number, user: string, action: number): void {
    let s = sessions.get(key);
    if (s !== undefined && at - s.last >= timeout(s)) {
      end(key, s, s.last + timeout(s));
      s = undefined;
    }
    if (action === ACTION.stop) {
      if (s !== undefined) end(key, s, at);
      return;
    }
    if (s === undefined) {
      if (action !== ACTION.start && action !== ACTION.open) return;
      s = { start: at, last: at, open: 0, user };
      sessions.set(key, s);
    }
    if (action === ACTION.open) s.open++;
    else if (action === ACTION.close && s.open > 0) s.open--;
    s.last = at;
  }
  return {
    restore(states, keyOf) {
      for (const s of states) {
        sessions.set(keyOf(s), {
          start: s.lastEventMs,
          last: s.lastEventMs,
          open: s.openConnections,
          user: `${s.userDirectory.toLowerCase()}\\${s.userId.toLowerCase()}`,
        });
      }
    },
    step,
    update(at, event) {
      if (event.userDirectory === "" || event.userId === "") return;
      const dir = event.userDirectory.toLowerCase();
      const uid = event.userId.toLowerCase();
      step(
        at,
        `${event.host}\n${dir}\n${uid}`,
        `${dir}\\${uid}`,
        ACTION_CODES.get(event.action) ?? ACTION.other,
      );
    },
    finish() {
      for (const [key, s] of sessions) end(key, s, s.last + timeout(s));
    },
  };
}

/** Users and actions of the file as integers, so a replay needs no joins or strings per event. */
function integerKeys(db: Database) {
  const canon = new Map<string, number>();
  /** user id → [canonical user number, "dir\\uid" folded], or null for a user without both parts. */
  const users = new Map<number, [number, string] | null>();
  for (const [id, dir, uid] of db.query("SELECT id, dir, uid FROM users").values() as [
    number,
    string,
    string,
  ][]) {
    if (dir === "" || uid === "") {
      users.set(id, null);
      continue;
    }
    const name = `${dir.toLowerCase()}\\${uid.toLowerCase()}`;
    const n = canon.get(name) ?? canon.size;
    canon.set(name, n);
    users.set(id, [n, name]);
  }
  const actions = new Map<number, number>();
  for (const [id, text] of db.query("SELECT id, s FROM strs").values() as [number, string][]) {
    const code = ACTION_CODES.get(text);
    if (code !== undefined) actions.set(id, code);
  }
  const hosts = new Map<string, number>();
  for (const [id, name] of db.query("SELECT id, name FROM hosts").values() as [number, string][])
    hosts.set(name, id);
  // host × 2^24 + user: unique while there are fewer than 16 million distinct users.
  const keyOf = (host: number, user: number) => host * 16_777_216 + user;
  return {
    users,
    actions,
    keyOf,
    stateKey: (s: SessionState): string | number => {
      const host = hosts.get(s.host);
      const n = canon.get(`${s.userDirectory.toLowerCase()}\\${s.userId.toLowerCase()}`);
      return host === undefined || n === undefined
        ? `${s.host}\n${s.userDirectory}\n${s.userId}`
        : keyOf(host, n);
    },
  };
}

/**
 * For each step of [from, to): the peak number of sessions open at once within it and the distinct
 * users with a session open during it, reconstructed from the stored events and the idle timeout.
 */
export function concurrency(
  db: Database,
  q: { from: number; to: number; step: number; idleTimeoutMinutes: number },
): { t: string; sessions: number; users: number }[] {
  const intervals: SessionInterval[] = [];
  const tracker = createIntervalTracker(q.idleTimeoutMinutes, (i) => {
    if (i.end > q.from && i.start < q.to) intervals.push(i);
  });
  const keys = integerKeys(db);
  const cp = checkpointAt(db, q.from);
  if (cp !== null) tracker.restore(cp.state, keys.stateKey);
  const rows = db
    .query("SELECT ts, host, user, action FROM events WHERE id > ? AND id <= ? AND ts < ? ORDER BY id")
    .values(cp?.lastId ?? 0, checkpointAfter(db, q.to) ?? Number.MAX_SAFE_INTEGER, q.to) as [
    number,
    number,
    number,
    number,
  ][];
  for (const [ts, host, user, action] of rows) {
    const u = keys.users.get(user);
    if (u === undefined || u === null) continue;
    tracker.step(ts, keys.keyOf(host, u[0]), u[1], keys.actions.get(action) ?? ACTION.other);
  }
  tracker.finish();

  const steps = Math.ceil((q.to - q.from) / q.step);
  const users: Set<string>[] = Array.from({ length: steps }, () => new Set());
  const deltas: [number, number][] = [];
  for (const i of intervals) {
    deltas.push([i.start, 1], [i.end, -1]);
    const first = Math.max(0, Math.floor((i.start - q.from) / q.step));
    const last = Math.min(steps - 1, Math.ceil((i.end - q.from) / q.step) - 1);
    for (let k = first; k <= last; k++) (users[k] as Set<string>).add(i.user);
  }
  // Ends before starts at the same instant: a session is open on [start, end).
  deltas.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  const points: { t: string; sessions: number; users: number }[] = [];
  let open = 0;
  let d = 0;
  for (let k = 0; k < steps; k++) {
    const t = q.from + k * q.step;
    const stepEnd = t + q.step;
    while (d < deltas.length && (deltas[d] as [number, number])[0] <= t)
      open += (deltas[d++] as [number, number])[1];
    let peak = open;
    while (d < deltas.length && (deltas[d] as [number, number])[0] < stepEnd) {
      open += (deltas[d++] as [number, number])[1];
      if (open > peak) peak = open;
    }
    points.push({ t: new Date(t).toISOString(), sessions: peak, users: (users[k] as Set<string>).size });
  }
  return points;
}
