import type { UserEvent } from "./event.ts";

/** One active session as `GET /api/sessions` shows it (spec §13). */
export interface SessionView {
  host: string;
  userDirectory: string;
  userId: string;
  startedAt: string | null;
  lastEventAt: string;
  openConnections: number;
  appIds: string[];
}

/** Options for {@link createSessionTracker}. */
export interface SessionTrackerOptions {
  /** Idle timeout of a session without open connections, in minutes. */
  idleTimeoutMinutes: number;
  /** Clock in epoch ms, injectable for tests. @default Date.now */
  now?: () => number;
}

/** The active-sessions tracker (spec §7). */
export interface SessionTracker {
  /** Applies one accepted event. */
  update(event: UserEvent): void;
  /** Active sessions, newest `lastEventAt` first; expired sessions are left out (a read changes nothing). */
  list(): SessionView[];
  /** Number of active sessions, expired ones not counted (a read changes nothing). */
  readonly count: number;
  /** Removes sessions idle past their timeout. */
  expire(): void;
  /** Changes the idle timeout of sessions without open connections (reload). */
  setIdleTimeout(minutes: number): void;
}

interface Session {
  host: string;
  userDirectory: string;
  userId: string;
  startedAt: string | null;
  lastEventAt: string;
  /** `now()` at the last event, for expiry. */
  lastEventMs: number;
  /** Update counter at the last event: orders the list without re-inserting into the map per event. */
  seq: number;
  openConnections: number;
  /** appId multiset: appId → open connections carrying it. */
  appIds: Map<string, number>;
}

const DAY_MS = 24 * 60 * 60 * 1000;
const KEY_CACHE_LIMIT = 10_000;

/** The last session key built for a userId as sent, with the host and directory it was built from. */
interface CachedKey {
  host: string;
  userDirectory: string;
  key: string;
}

/** Creates the session tracker of spec §7, keyed by host plus lower-cased userDirectory and userId. */
export function createSessionTracker(options: SessionTrackerOptions): SessionTracker {
  const now = options.now ?? Date.now;
  let idleMs = options.idleTimeoutMinutes * 60_000;
  const sessions = new Map<string, Session>();
  let seq = 0;
  // Building a key lower-cases and joins three strings; the same user's events reuse the last one built.
  const keys = new Map<string, CachedKey>();

  function keyOf(event: UserEvent): string {
    const cached = keys.get(event.userId);
    if (cached !== undefined && cached.host === event.host && cached.userDirectory === event.userDirectory) {
      return cached.key;
    }
    const key = `${event.host}\n${event.userDirectory.toLowerCase()}\n${event.userId.toLowerCase()}`;
    if (keys.size >= KEY_CACHE_LIMIT) keys.clear();
    keys.set(event.userId, { host: event.host, userDirectory: event.userDirectory, key });
    return key;
  }

  const isExpired = (session: Session, at: number): boolean =>
    at - session.lastEventMs >= (session.openConnections > 0 ? DAY_MS : idleMs);

  function expire(): void {
    const at = now();
    for (const [key, session] of sessions) if (isExpired(session, at)) sessions.delete(key);
  }

  function update(event: UserEvent): void {
    if (event.userDirectory === "" || event.userId === "") return;
    const key = keyOf(event);
    const at = now();
    let session = sessions.get(key);
    if (session !== undefined && isExpired(session, at)) {
      sessions.delete(key);
      session = undefined;
    }
    if (event.action === "Stop session") {
      sessions.delete(key);
      return;
    }
    if (session === undefined) {
      if (event.action !== "Start session" && event.action !== "Open connection") return;
      session = {
        host: event.host,
        userDirectory: event.userDirectory,
        userId: event.userId,
        startedAt: null,
        lastEventAt: event.receivedAt,
        lastEventMs: at,
        seq: 0,
        openConnections: 0,
        appIds: new Map(),
      };
      sessions.set(key, session);
    }
    if (event.action === "Start session") {
      session.startedAt = event.receivedAt;
    } else if (event.action === "Open connection") {
      session.openConnections++;
      if (event.appId !== null) session.appIds.set(event.appId, (session.appIds.get(event.appId) ?? 0) + 1);
    } else if (event.action === "Close connection") {
      if (session.openConnections > 0) session.openConnections--;
      const held = event.appId === null ? undefined : session.appIds.get(event.appId);
      if (held !== undefined && event.appId !== null) {
        if (held <= 1) session.appIds.delete(event.appId);
        else session.appIds.set(event.appId, held - 1);
      }
    }
    session.host = event.host;
    session.userDirectory = event.userDirectory;
    session.userId = event.userId;
    session.lastEventAt = event.receivedAt;
    session.lastEventMs = at;
    session.seq = ++seq;
  }

  function list(): SessionView[] {
    const at = now();
    const views: SessionView[] = [];
    const newestFirst = [...sessions.values()].sort((a, b) => b.seq - a.seq);
    for (const s of newestFirst) {
      if (isExpired(s, at)) continue;
      views.push({
        host: s.host,
        userDirectory: s.userDirectory,
        userId: s.userId,
        startedAt: s.startedAt,
        lastEventAt: s.lastEventAt,
        openConnections: s.openConnections,
        appIds: [...s.appIds.keys()],
      });
    }
    return views;
  }

  return {
    update,
    list,
    get count() {
      const at = now();
      let active = 0;
      for (const session of sessions.values()) if (!isExpired(session, at)) active++;
      return active;
    },
    expire,
    setIdleTimeout(minutes: number) {
      idleMs = minutes * 60_000;
    },
  };
}
