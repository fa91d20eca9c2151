/** The three datagram types sense-events accepts (reference §3.2), lower-cased. */
export type EventSource = "qseow-proxy-session" | "qseow-proxy-connection" | "proxy-user-event";

/** The canonical actions (reference §3.5); an unknown format (a) command is kept as sent, trimmed. */
export const ACTIONS = ["Start session", "Stop session", "Open connection", "Close connection"] as const;

/** One of the four canonical actions. */
export type CanonicalAction = (typeof ACTIONS)[number];

/** Parsed user agent as exposed by the API (reference §6); unknown parts are null. */
export interface UserAgentInfo {
  raw: string;
  browserName: string | null;
  browserMajorVersion: string | null;
  osName: string | null;
  osVersion: string | null;
}

/**
 * An accepted user event exactly as the API shows it (reference §6).
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
 * `timeNs` is the unique receive timestamp of reference §10.2 as a decimal string (ms × 10^6 + k).
 */
export interface DeliverableEvent {
  event: UserEvent;
  /** Receive time in epoch milliseconds. */
  receivedAtMs: number;
  /** Receive time in nanoseconds, unique within a millisecond (reference §10.2), as a decimal string. */
  timeNs: string;
  /** `DIR\ID` when both parts are present, else "" (reference §4.1). */
  userFull: string;
}

/** The app name destinations send for an app id without a known name (reference §4.2, as Butler SOS). */
export const UNKNOWN_APP_NAME = "<unknown app name>";

/** The app name a destination sends for an event with an appId: its name, or the fallback when unknown or empty. */
export function destinationAppName(event: UserEvent): string {
  return event.appName || UNKNOWN_APP_NAME;
}

/** Upper estimate of a JSON key set plus numbers, dates and quotes of one event (everything but its strings). */
const EVENT_JSON_OVERHEAD = 400;

/**
 * An upper estimate of the JSON size of an event in bytes: fields hold no control characters
 * (reference §3.1), so escaping at most doubles a string, and a UTF-16 unit is at most 3 UTF-8 bytes.
 */
export function eventJsonBytes(event: UserEvent): number {
  let units =
    event.host.length +
    event.action.length +
    event.userDirectory.length +
    event.userId.length +
    event.origin.length +
    event.context.length +
    (event.appId?.length ?? 0) +
    (event.appName?.length ?? 0) +
    event.message.length +
    event.remoteAddress.length;
  const ua = event.userAgent;
  if (ua !== null) {
    units +=
      ua.raw.length +
      (ua.browserName?.length ?? 0) +
      (ua.browserMajorVersion?.length ?? 0) +
      (ua.osName?.length ?? 0) +
      (ua.osVersion?.length ?? 0);
  }
  return EVENT_JSON_OVERHEAD + 3 * units;
}
