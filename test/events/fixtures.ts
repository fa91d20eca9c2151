import type { UserEvent } from "../../src/events/event.ts";

/** Builds a user event with the §6 key order; `id` drives a default receivedAt one second apart. */
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
