// What one datagram becomes, without side effects: parse, exclude, enrich, number and timestamp.
// It counts, stores and sends nothing: src/ingest/pipeline.ts does that with the result.
import type { DeliverableEvent, EventSource, UserAgentInfo, UserEvent } from "../events/event.ts";
import { extractAppId } from "./app-id.ts";
import { parseDatagram, type RejectReason } from "./parse.ts";

/** Collaborators of {@link createProcessor}; `update` swaps them on reload without resetting ids. */
export interface ProcessorOptions {
  /** Current app-name lookup by lower-cased appId (reference §4.2); undefined when unknown or lookup is off. */
  appName: (appId: string) => string | undefined;
  /** The cached user-agent parser (reference §4.3). */
  userAgents: { parse(message: string): UserAgentInfo | null };
  /** The excludeUser matcher (reference §5). */
  isExcluded: (userDirectory: string, userId: string) => boolean;
  /** Id of the last event of an earlier run (from the history), so ids continue. @default 0 */
  lastId?: number;
}

/** The outcome of processing one datagram (reference §2 steps 4–8). */
export type ProcessResult =
  | { kind: "accepted"; deliverable: DeliverableEvent; origin: string }
  | { kind: "excluded"; source: EventSource; host: string; origin: string }
  | { kind: "rejected"; reason: RejectReason; detail: string; text: string };

/** Turns datagrams into numbered, enriched events. */
export interface Processor {
  /** Parses, enriches, filters and numbers one datagram; never throws on bad input. */
  process(bytes: Uint8Array, remoteAddress: string, receivedAtMs: number): ProcessResult;
  /** Replaces collaborators (e.g. after a config reload); ids and timestamps continue. */
  update(options: Partial<ProcessorOptions>): void;
  /** The id of the last accepted event (0 before the first). */
  lastId(): number;
}

const MAX_K = 999_999;

/** Shows an IPv4-mapped IPv6 address (`::ffff:a.b.c.d`) as IPv4 (reference §6); other addresses are unchanged. */
export function displayAddress(address: string): string {
  if (address.length > 7 && address.includes(".") && address.slice(0, 7).toLowerCase() === "::ffff:") {
    return address.slice(7);
  }
  return address;
}

/**
 * Creates the receive-timestamp source of reference §10.2: `stamp(ms)` returns ms × 10^6 + k as a decimal
 * string, where k counts earlier stamps in the same millisecond and stays at 999999 once it gets there.
 */
export function createNsClock(): { stamp(ms: number): string } {
  let lastMs = Number.NaN;
  let prefix = "";
  let k = 0;
  return {
    stamp(ms) {
      if (ms === lastMs) {
        if (k < MAX_K) k++;
      } else {
        lastMs = ms;
        prefix = String(ms);
        k = 0;
      }
      // Decimal concatenation instead of BigInt: ms × 10^6 + k with 0 ≤ k < 10^6.
      return ms === 0 ? String(k) : `${prefix}${String(k).padStart(6, "0")}`;
    },
  };
}

/** Creates the per-datagram processor: parse (reference §3), enrich (reference §4), exclude (reference §5), number (reference §6) and timestamp (reference §10.2). */
export function createProcessor(options: ProcessorOptions): Processor {
  const current: ProcessorOptions = { ...options };
  const clock = createNsClock();
  let id = options.lastId ?? 0;
  // At high rates many events share a millisecond, and datagrams mostly come from the same few senders.
  let isoMs = Number.NaN;
  let iso = "";
  let lastAddress = "";
  let lastDisplay = "";
  return {
    process(bytes, remoteAddress, receivedAtMs) {
      const parsed = parseDatagram(bytes);
      if (!parsed.ok)
        return { kind: "rejected", reason: parsed.reason, detail: parsed.detail, text: parsed.text };
      const d = parsed.datagram;
      // Checked before enrichment: an excluded event is not stored, so its UA and app name are never needed.
      if (current.isExcluded(d.userDirectory, d.userId)) {
        return { kind: "excluded", source: d.source, host: d.host, origin: d.origin };
      }
      const ms = Math.trunc(receivedAtMs);
      if (ms !== isoMs) {
        iso = new Date(ms).toISOString();
        isoMs = ms;
      }
      if (remoteAddress !== lastAddress) {
        lastDisplay = displayAddress(remoteAddress);
        lastAddress = remoteAddress;
      }
      const appId = extractAppId(d.context);
      const event: UserEvent = {
        id: ++id,
        receivedAt: iso,
        source: d.source,
        host: d.host,
        action: d.action,
        userDirectory: d.userDirectory,
        userId: d.userId,
        origin: d.origin,
        context: d.context,
        appId,
        appName: appId === null ? null : (current.appName(appId) ?? null),
        message: d.message,
        userAgent: current.userAgents.parse(d.message),
        remoteAddress: lastDisplay,
      };
      const deliverable: DeliverableEvent = {
        event,
        receivedAtMs: ms,
        timeNs: clock.stamp(ms),
        userFull: d.userDirectory !== "" && d.userId !== "" ? `${d.userDirectory}\\${d.userId}` : "",
      };
      return { kind: "accepted", deliverable, origin: d.origin };
    },
    update(next) {
      if (next.appName) current.appName = next.appName;
      if (next.userAgents) current.userAgents = next.userAgents;
      if (next.isExcluded) current.isExcluded = next.isExcluded;
    },
    lastId: () => id,
  };
}
