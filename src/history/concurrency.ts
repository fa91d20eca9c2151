import type { Database } from "bun:sqlite";
import type { UserEvent } from "../events/event.ts";
import type { SessionState } from "../events/sessions.ts";
import { checkpointAfter, checkpointAt, createReplayTracker, replayEvents } from "./replay.ts";

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

/**
 * Follows session starts and ends with the rules of the session tracker (reference §7: keyed by host,
 * directory and user ignoring case; created by Start session or Open connection; ended by Stop
 * session or by the idle timeout, 24 h while a connection is open) and reports each closed life.
 */
export function createIntervalTracker(
  idleTimeoutMinutes: number,
  onEnd: (interval: SessionInterval) => void,
) {
  const idleMs = idleTimeoutMinutes * 60_000;
  const sessions = new Map<string, Open>();
  const timeout = (s: Open) => (s.open > 0 ? DAY_MS : idleMs);
  const end = (key: string, s: Open, at: number) => {
    sessions.delete(key);
    onEnd({ start: s.start, end: at, user: s.user });
  };
  return {
    /** Starts from a tracker state (a checkpoint); their start is unknown and taken as their last event. */
    restore(states: SessionState[]) {
      for (const s of states) {
        const dir = s.userDirectory.toLowerCase();
        const uid = s.userId.toLowerCase();
        sessions.set(`${s.host}\n${dir}\n${uid}`, {
          start: s.lastEventMs,
          last: s.lastEventMs,
          open: s.openConnections,
          user: `${dir}\\${uid}`,
        });
      }
    },
    update(at: number, event: UserEvent) {
      if (event.userDirectory === "" || event.userId === "") return;
      const dir = event.userDirectory.toLowerCase();
      const uid = event.userId.toLowerCase();
      const key = `${event.host}\n${dir}\n${uid}`;
      let s = sessions.get(key);
      if (s !== undefined && at - s.last >= timeout(s)) {
        end(key, s, s.last + timeout(s));
        s = undefined;
      }
      if (event.action === "Stop session") {
        if (s !== undefined) end(key, s, at);
        return;
      }
      if (s === undefined) {
        if (event.action !== "Start session" && event.action !== "Open connection") return;
        s = { start: at, last: at, open: 0, user: `${dir}\\${uid}` };
        sessions.set(key, s);
      }
      if (event.action === "Open connection") s.open++;
      else if (event.action === "Close connection" && s.open > 0) s.open--;
      s.last = at;
    },
    /** Ends every session still open, at its timeout. */
    finish() {
      for (const [key, s] of sessions) end(key, s, s.last + timeout(s));
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
  const cp = checkpointAt(db, q.from);
  if (cp !== null) tracker.restore(cp.state);
  // The replay tracker is only a vehicle for the rows; the interval tracker does the work.
  const range = {
    afterId: cp?.lastId ?? 0,
    uptoId: checkpointAfter(db, q.to) ?? Number.MAX_SAFE_INTEGER,
    at: q.to - 1,
  };
  replayEvents(db, createReplayTracker(q.idleTimeoutMinutes), range, (ms, event) =>
    tracker.update(ms, event),
  );
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
