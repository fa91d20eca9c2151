import type { DeliverableEvent, UserEvent } from "../../src/events/event.ts";

const UA_CHROME =
  "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/119.0.0.0 Safari/537.36";

/** The user agent strings of reference §4.3, by their ids (`<UA-CHROME>` is `UA.CHROME`). */
export const UA = {
  CHROME: UA_CHROME,
  EDGE: `${UA_CHROME} Edg/119.0.2151.72`,
  SAFARI:
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Safari/605.1.15",
  IPHONE:
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1.2 Mobile/15E148 Safari/604.1",
} as const;

/** The reference §17 app whose name is `Sales analysis`. */
export const SALES_APP_ID = "a421f4a2-c311-4ef4-ba41-fe2e6a2b0d69";

/** The keys of an API event in reference §6 order. */
export const EVENT_KEYS = [
  "id",
  "receivedAt",
  "source",
  "host",
  "action",
  "userDirectory",
  "userId",
  "origin",
  "context",
  "appId",
  "appName",
  "message",
  "userAgent",
  "remoteAddress",
];

/** Wraps an event as the pipeline hands it to destinations; `k` is the tie-breaker added to the ns time. */
export function deliverable(event: UserEvent, k = 0): DeliverableEvent {
  const receivedAtMs = Date.parse(event.receivedAt);
  const userFull = event.userDirectory && event.userId ? `${event.userDirectory}\\${event.userId}` : "";
  return { event, receivedAtMs, timeNs: String(BigInt(receivedAtMs) * 1_000_000n + BigInt(k)), userFull };
}

/** A copy of `base` with some event fields changed; receive time and `userFull` stay unless given. */
export function withEvent(
  base: DeliverableEvent,
  changes: Partial<UserEvent>,
  userFull = base.userFull,
): DeliverableEvent {
  return { ...base, event: { ...base.event, ...changes }, userFull };
}

/** Reference §17 E2: open connection with an app context, `;` in the message, Chrome 119 on Windows 10. */
export function e2Event(): UserEvent {
  return {
    id: 2,
    receivedAt: "2024-11-20T08:15:42.123Z",
    source: "qseow-proxy-connection",
    host: "pro2-win1",
    action: "Open connection",
    userDirectory: "LAB",
    userId: "goran",
    origin: "AppAccess",
    context: `/app/${SALES_APP_ID}?reloaduri=https://sense.lab/sense/app/${SALES_APP_ID}`,
    appId: SALES_APP_ID,
    appName: "Sales analysis",
    message: `App connection Opened for session 'c8b1a0f2'; UserAgent: '${UA.CHROME}'`,
    userAgent: {
      raw: UA.CHROME,
      browserName: "Chrome",
      browserMajorVersion: "119",
      osName: "Windows",
      osVersion: "10",
    },
    remoteAddress: "10.0.1.21",
  };
}

/** Reference §17 E5: iPhone, upper-case GUID followed by `/sheet/…`, unknown app name. */
export function e5Event(): UserEvent {
  return {
    id: 5,
    receivedAt: "2024-11-20T08:18:30.000Z",
    source: "qseow-proxy-connection",
    host: "pro2-win2",
    action: "Open connection",
    userDirectory: "LAB",
    userId: "Erik.Svensson",
    origin: "AppAccess",
    context: "/app/0E3A9C7D-5B1F-4C2A-8D6E-7F9A1B2C3D4E/sheet/kpi01/state/analysis",
    appId: "0e3a9c7d-5b1f-4c2a-8d6e-7f9a1b2c3d4e",
    appName: null,
    message: `App connection Opened for session '51d0'; UserAgent: '${UA.IPHONE}'`,
    userAgent: {
      raw: UA.IPHONE,
      browserName: "Mobile Safari",
      browserMajorVersion: "17",
      osName: "iOS",
      osVersion: "17.1.2",
    },
    remoteAddress: "10.0.1.22",
  };
}

/** Reference §17 E6: session stop with empty origin and context. */
export function e6Event(): UserEvent {
  return {
    id: 6,
    receivedAt: "2024-11-20T08:45:00.010Z",
    source: "qseow-proxy-session",
    host: "pro2-win1",
    action: "Stop session",
    userDirectory: "LAB",
    userId: "goran",
    origin: "",
    context: "",
    appId: null,
    appName: null,
    message: "Stop session for user 'LAB\\goran'",
    userAgent: null,
    remoteAddress: "10.0.1.21",
  };
}

/** Reference §17 E2 as the pipeline hands it to destinations. */
export function e2Deliverable(k = 0): DeliverableEvent {
  return deliverable(e2Event(), k);
}
