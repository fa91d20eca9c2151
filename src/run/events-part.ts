import type { Config } from "../config/schema.ts";
import type { UserEvent } from "../events/event.ts";
import { EventRing } from "../events/ring.ts";
import { createSessionTracker, type SessionTracker } from "../events/sessions.ts";
import { every } from "./every.ts";
import type { Part } from "./part.ts";

/** Figures of the events part for `/api/stats`. */
export interface EventsStats {
  events: { stored: number; capacity: number };
  sessions: { active: number; evicted: number };
}

/** The recent-events ring and active sessions, fed by ingest and read by the API (and other listeners). */
export interface EventsPart extends Part<EventsStats> {
  readonly ring: EventRing;
  readonly sessions: SessionTracker;
  /** Stores one accepted event and hands it to every listener (e.g. SSE streams). */
  add(event: UserEvent): void;
  /** Calls `listener` for each accepted event after it is stored; returns the unsubscribe function. */
  subscribe(listener: (event: UserEvent) => void): () => void;
}

/** How often idle sessions are expired. */
const EXPIRE_EVERY_MS = 10_000;

/** Creates the events part from `sense-events.events` and `sense-events.sessions`. */
export function createEventsPart(config: Config): EventsPart {
  const se = config["sense-events"];
  const ring = new EventRing(se.events.capacity);
  const sessions = createSessionTracker({
    idleTimeoutMinutes: se.sessions.idleTimeoutMinutes,
    maxActive: se.sessions.maxActive,
  });
  const listeners = new Set<(event: UserEvent) => void>();
  const expiry = every(EXPIRE_EVERY_MS, () => sessions.expire());
  return {
    name: "events",
    ring,
    sessions,
    add(event) {
      ring.push(event);
      sessions.update(event);
      for (const listener of listeners) listener(event);
    },
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    async apply(next) {
      const n = next["sense-events"];
      // Both are cheap in-place changes: the ring keeps its newest events, sessions keep their state.
      ring.resize(n.events.capacity);
      sessions.setIdleTimeout(n.sessions.idleTimeoutMinutes);
      sessions.setMaxActive(n.sessions.maxActive);
      return { rebuilt: [] };
    },
    stats: () => ({
      events: { stored: ring.size, capacity: ring.capacity },
      sessions: { active: sessions.count, evicted: sessions.evicted },
    }),
    async close() {
      clearInterval(expiry);
      listeners.clear();
    },
  };
}
