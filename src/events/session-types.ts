/** The types of the active-sessions tracker (reference §7), shared by its users. */
import type { UserEvent } from "./event.ts";

/** One active session as `GET /api/sessions` shows it (reference §13). */
export interface SessionView {
  host: string;
  userDirectory: string;
  userId: string;
  startedAt: string | null;
  lastEventAt: string;
  openConnections: number;
  appIds: string[];
}

/** One session's whole state, to save the tracker and restore it later (history, reference §19). */
export interface SessionState {
  host: string;
  userDirectory: string;
  userId: string;
  startedAt: string | null;
  lastEventAt: string;
  lastEventMs: number;
  openConnections: number;
  /** appId → open connections carrying it. */
  apps: [string, number][];
}

/** Options for {@link createSessionTracker}. */
export interface SessionTrackerOptions {
  /** Idle timeout of a session without open connections, in minutes. */
  idleTimeoutMinutes: number;
  /** Most sessions kept; past it the least recently active are evicted. @default 100000 */
  maxActive?: number;
  /** Most estimated heap bytes of all sessions; past it the least recently active are evicted. @default 128 MiB */
  maxBytes?: number;
  /** Clock in epoch ms, injectable for tests. @default Date.now */
  now?: () => number;
}

/** One page of {@link SessionTracker.page}: `next` is the cursor of the following page, or null. */
export interface SessionPage {
  sessions: SessionView[];
  next: string | null;
}

/** The active-sessions tracker (reference §7), bounded in count and bytes (reference §7, issue 9). */
export interface SessionTracker {
  /** Applies one accepted event. */
  update(event: UserEvent): void;
  /** Active sessions, newest `lastEventAt` first; expired sessions are left out (a read changes nothing). */
  list(): SessionView[];
  /**
   * At most `limit` sessions and about `maxBytes` of JSON, newest first, starting after the
   * session of cursor `after` (a `next` of an earlier page); expired sessions are left out.
   */
  page(limit: number, after?: string, maxBytes?: number): SessionPage;
  /** Number of active sessions, expired ones not counted (a read changes nothing). */
  readonly count: number;
  /** Sessions evicted by the `maxActive`/`maxBytes` bounds since start. */
  readonly evicted: number;
  /** Estimated heap bytes of all sessions. */
  readonly bytes: number;
  /** Removes sessions idle past their timeout. */
  expire(): void;
  /** Changes the idle timeout of sessions without open connections (reload). */
  setIdleTimeout(minutes: number): void;
  /** Changes the `maxActive` bound (reload); a smaller bound evicts at the next new session. */
  setMaxActive(maxActive: number): void;
  /** Every held session (expired ones too), least recently updated first. */
  snapshot(): SessionState[];
  /** Replaces every session with `states` (as from `snapshot()`), keeping their order. */
  restore(states: SessionState[]): void;
}
