import type { UserEvent } from "../../src/events/event.ts";
import type { EventMatcher } from "../../src/events/ring.ts";

/** Builds a user event with the reference §6 key order; `id` drives a default receivedAt one second apart. */
export function makeEvent(id: number, overrides: Partial<UserEvent> = {}): UserEvent {
  const base: UserEvent = {
    id,
    receivedAt: new Date(Date.UTC(2025, 0, 1) + id * 1000).toISOString(),
    source: "qseow-proxy-connection",
    host: "sense1",
    action: "Open connection",
    userDirectory: "ACME",
    userId: "alice",
    origin: "AppAccess",
    context: "/app/",
    appId: null,
    appName: null,
    message: "",
    userAgent: null,
    remoteAddress: "10.0.0.1",
  };
  return { ...base, ...overrides, id };
}

/**
 * The plain reference for the ring's filters: lower-case every key, then compare. The ring and SSE use
 * a lazier matcher (`matchesEvent`); tests check that both agree.
 */
export function referenceMatch(event: UserEvent, m: EventMatcher): boolean {
  const receivedAtMs = Date.parse(event.receivedAt);
  return (
    (m.host === undefined || event.host.toLowerCase() === m.host) &&
    (m.action === undefined || event.action.toLowerCase() === m.action) &&
    (m.appId === undefined || (event.appId !== null && event.appId.toLowerCase() === m.appId)) &&
    (m.uid === undefined || event.userId.toLowerCase() === m.uid) &&
    (m.dir === undefined || event.userDirectory.toLowerCase() === m.dir) &&
    (m.since === undefined || receivedAtMs >= m.since) &&
    (m.until === undefined || receivedAtMs < m.until)
  );
}
