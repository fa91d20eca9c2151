import type { UserEvent } from "./event.ts";
import type {
  SessionPage,
  SessionState,
  SessionTracker,
  SessionTrackerOptions,
  SessionView,
} from "./session-types.ts";

export type { SessionPage, SessionState, SessionTracker, SessionTrackerOptions, SessionView };

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
  /** appId multiset: appId → open connections carrying it; at most {@link MAX_APPS} ids. */
  appIds: Map<string, number>;
  /** Estimated heap bytes, see {@link sessionBytes}. */
  bytes: number;
}

/** Most distinct appIds listed per session; more open apps are counted in openConnections only. */
export const MAX_APPS = 100;
/** Estimated heap bytes of one session without its strings (object, map entries, key cache). */
const SESSION_OVERHEAD = 1000;
/** Estimated heap bytes of one listed appId (a 36-character GUID and its map entry). */
const APP_BYTES = 400;

/** Estimated heap bytes of a session with these strings (UTF-16, as the worst case of a JSC string). */
function sessionBytes(key: string, host: string, userDirectory: string, userId: string): number {
  return SESSION_OVERHEAD + 2 * (key.length + host.length + userDirectory.length + userId.length);
}

const DAY_MS = 24 * 60 * 60 * 1000;
const KEY_CACHE_LIMIT = 10_000;

/** The last session key built for a userId as sent, with the host and directory it was built from. */
interface CachedKey {
  host: string;
  userDirectory: string;
  key: string;
}

/** Creates the session tracker of reference §7, keyed by host plus lower-cased userDirectory and userId. */
export function createSessionTracker(options: SessionTrackerOptions): SessionTracker {
  const now = options.now ?? Date.now;
  let idleMs = options.idleTimeoutMinutes * 60_000;
  let maxActive = options.maxActive ?? 100_000;
  const maxBytes = options.maxBytes ?? 128 * 1024 * 1024;
  const sessions = new Map<string, Session>();
  let seq = 0;
  let bytes = 0;
  let evicted = 0;
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

  function remove(key: string, session: Session): void {
    sessions.delete(key);
    bytes -= session.bytes;
  }

  function expire(): void {
    const at = now();
    for (const [key, session] of sessions) if (isExpired(session, at)) remove(key, session);
  }

  /**
   * Makes room for `extra` bytes and one more session: expires what has expired, then evicts the
   * least recently active sessions, 1% of the bound at a time so a flood of new users costs O(1)
   * amortised instead of a scan per datagram.
   */
  function makeRoom(extra: number): void {
    if (sessions.size < maxActive && bytes + extra <= maxBytes) return;
    expire();
    if (sessions.size < maxActive && bytes + extra <= maxBytes) return;
    const seqs = new Float64Array(sessions.size);
    let i = 0;
    for (const session of sessions.values()) seqs[i++] = session.seq;
    seqs.sort();
    // Evict down to 99% of both bounds (at least one session).
    const byCount = Math.max(1, sessions.size - Math.floor(maxActive * 0.99) + 1);
    let target = Math.min(seqs.length, byCount);
    const byteGoal = bytes + extra - Math.floor(maxBytes * 0.99);
    if (byteGoal > 0) {
      // Without per-seq sizes, evict by count until the byte goal is met too.
      const average = bytes / sessions.size;
      target = Math.min(seqs.length, Math.max(target, Math.ceil(byteGoal / average)));
    }
    const cutoff = seqs[target - 1] as number;
    for (const [key, session] of sessions) {
      if (session.seq > cutoff) continue;
      remove(key, session);
      evicted++;
    }
  }

  function update(event: UserEvent): void {
    if (event.userDirectory === "" || event.userId === "") return;
    const key = keyOf(event);
    const at = now();
    let session = sessions.get(key);
    if (session !== undefined && isExpired(session, at)) {
      remove(key, session);
      session = undefined;
    }
    if (event.action === "Stop session") {
      if (session !== undefined) remove(key, session);
      return;
    }
    if (session === undefined) {
      if (event.action !== "Start session" && event.action !== "Open connection") return;
      const size = sessionBytes(key, event.host, event.userDirectory, event.userId);
      makeRoom(size);
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
        bytes: size,
      };
      sessions.set(key, session);
      bytes += size;
    }
    if (event.action === "Start session") {
      session.startedAt = event.receivedAt;
    } else if (event.action === "Open connection") {
      session.openConnections++;
      if (event.appId !== null) {
        const held = session.appIds.get(event.appId);
        if (held !== undefined) {
          session.appIds.set(event.appId, held + 1);
        } else if (session.appIds.size < MAX_APPS) {
          session.appIds.set(event.appId, 1);
          session.bytes += APP_BYTES;
          bytes += APP_BYTES;
        }
      }
    } else if (event.action === "Close connection") {
      if (session.openConnections > 0) session.openConnections--;
      const held = event.appId === null ? undefined : session.appIds.get(event.appId);
      if (held !== undefined && event.appId !== null) {
        if (held <= 1) {
          session.appIds.delete(event.appId);
          session.bytes -= APP_BYTES;
          bytes -= APP_BYTES;
        } else {
          session.appIds.set(event.appId, held - 1);
        }
      }
    }
    session.host = event.host;
    session.userDirectory = event.userDirectory;
    session.userId = event.userId;
    session.lastEventAt = event.receivedAt;
    session.lastEventMs = at;
    session.seq = ++seq;
    // A new appId grows a session; the least recently active make room (this one is now the newest).
    if (bytes > maxBytes) makeRoom(0);
  }

  const view = (s: Session): SessionView => ({
    host: s.host,
    userDirectory: s.userDirectory,
    userId: s.userId,
    startedAt: s.startedAt,
    lastEventAt: s.lastEventAt,
    openConnections: s.openConnections,
    appIds: [...s.appIds.keys()],
  });

  function list(): SessionView[] {
    const at = now();
    return [...sessions.values()]
      .filter((s) => !isExpired(s, at))
      .sort((a, b) => b.seq - a.seq)
      .map(view);
  }

  function page(limit: number, after?: string, maxPageBytes = 4 * 1024 * 1024): SessionPage {
    const at = now();
    // The cursor is the update counter of the last session shown: sessions updated since then
    // moved to the front and are not repeated; the rest keep their order.
    const cursor = after === undefined ? Number.POSITIVE_INFINITY : Number(after);
    const older: Session[] = [];
    for (const s of sessions.values()) if (s.seq < cursor && !isExpired(s, at)) older.push(s);
    older.sort((a, b) => b.seq - a.seq);
    const out: SessionView[] = [];
    let size = 0;
    for (const s of older) {
      // JSON of a session: its strings (escaped at most twice over, fields have no control characters) and keys.
      const json = 200 + 2 * (s.host.length + s.userDirectory.length + s.userId.length) + 40 * s.appIds.size;
      if (out.length === limit || (out.length > 0 && size + json > maxPageBytes)) {
        const last = older[out.length - 1] as Session;
        return { sessions: out, next: String(last.seq) };
      }
      size += json;
      out.push(view(s));
    }
    return { sessions: out, next: null };
  }

  return {
    update,
    list,
    page,
    get count() {
      const at = now();
      let active = 0;
      for (const session of sessions.values()) if (!isExpired(session, at)) active++;
      return active;
    },
    get evicted() {
      return evicted;
    },
    get bytes() {
      return bytes;
    },
    expire,
    setIdleTimeout(minutes: number) {
      idleMs = minutes * 60_000;
    },
    setMaxActive(next: number) {
      maxActive = next;
    },
    snapshot() {
      return [...sessions.values()]
        .sort((a, b) => a.seq - b.seq)
        .map((s) => ({
          host: s.host,
          userDirectory: s.userDirectory,
          userId: s.userId,
          startedAt: s.startedAt,
          lastEventAt: s.lastEventAt,
          lastEventMs: s.lastEventMs,
          openConnections: s.openConnections,
          apps: [...s.appIds],
        }));
    },
    restore(states) {
      sessions.clear();
      bytes = 0;
      for (const s of states) {
        const key = `${s.host}\n${s.userDirectory.toLowerCase()}\n${s.userId.toLowerCase()}`;
        const appIds = new Map(s.apps.slice(0, MAX_APPS));
        const size = sessionBytes(key, s.host, s.userDirectory, s.userId) + appIds.size * APP_BYTES;
        makeRoom(size);
        bytes += size;
        sessions.set(key, {
          host: s.host,
          userDirectory: s.userDirectory,
          userId: s.userId,
          startedAt: s.startedAt,
          lastEventAt: s.lastEventAt,
          lastEventMs: s.lastEventMs,
          seq: ++seq,
          openConnections: s.openConnections,
          appIds,
          bytes: size,
        });
      }
    },
  };
}
