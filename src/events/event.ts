/** The three datagram types sense-events accepts (spec §3.2), lower-cased. */
export type EventSource = "qseow-proxy-session" | "qseow-proxy-connection" | "proxy-user-event";

/** The canonical actions (spec §3.5); an unknown format (a) command is kept as sent, trimmed. */
export const ACTIONS = ["Start session", "Stop session", "Open connection", "Close connection"] as const;

/** One of the four canonical actions. */
export type CanonicalAction = (typeof ACTIONS)[number];

/** Parsed user agent as exposed by the API (spec §6); unknown parts are null. */
export interface UserAgentInfo {
  raw: string;
  browserName: string | null;
  browserMajorVersion: string | null;
  osName: string | null;
  osVersion: string | null;
}

/**
 * An accepted user event exactly as the API shows it (spec §6).
 * Objects must be created with the keys in this order: JSON output relies on it.
 */
export interface UserEvent {
  id: number;
  receivedAt: string;
  source: EventSource;
  host: string;
  action: string;
  userDirectory: string;
  userId: string;
  origin: string;
  context: string;
  appId: string | null;
  appName: string | null;
  message: string;
  userAgent: UserAgentInfo | null;
  remoteAddress: string;
}

/**
 * What destinations serialise from: the API event plus values derived once on the hot path.
 * `timeNs` is the unique receive timestamp of spec §10.2 as a decimal string (ms × 10^6 + k).
 */
export interface DeliverableEvent {
  event: UserEvent;
  /** Receive time in epoch milliseconds. */
  receivedAtMs: number;
  /** Receive time in nanoseconds, unique within a millisecond (spec §10.2), as a decimal string. */
  timeNs: string;
  /** `DIR\ID` when both parts are present, else "" (spec §4.1). */
  userFull: string;
}

/** The app name destinations send for an app id without a known name (spec §4.2, as Butler SOS). */
export const UNKNOWN_APP_NAME = "<unknown app name>";

/** The app name a destination sends for an event with an appId: its name, or the fallback when unknown or empty. */
export function destinationAppName(event: UserEvent): string {
  return event.appName || UNKNOWN_APP_NAME;
}
