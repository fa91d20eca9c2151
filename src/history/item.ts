import type { DeliverableEvent, EventSource, UserAgentInfo, UserEvent } from "../events/event.ts";
import { isoOf } from "./replay.ts";

/**
 * The outbox item of one event for the history lane: a JSON array (cheap to write and read, any
 * character safe), kept as a string so the outbox can hold and spool it like any other item.
 */
export function encodeHistoryItem(d: DeliverableEvent): string {
  const e = d.event;
  const ua = e.userAgent;
  return JSON.stringify([
    e.id,
    d.receivedAtMs,
    e.source,
    e.host,
    e.action,
    e.userDirectory,
    e.userId,
    e.origin,
    e.context,
    e.appId,
    e.appName,
    e.message,
    e.remoteAddress,
    ua === null ? null : [ua.raw, ua.browserName, ua.browserMajorVersion, ua.osName, ua.osVersion],
  ]);
}

/** One decoded item: the event and its receive time in ms. */
export interface HistoryItem {
  event: UserEvent;
  ms: number;
}

type Encoded = [
  number,
  number,
  EventSource,
  string,
  string,
  string,
  string,
  string,
  string,
  string | null,
  string | null,
  string,
  string,
  [string, string | null, string | null, string | null, string | null] | null,
];

/** Decodes an item written by {@link encodeHistoryItem}; null when it is not one. */
export function decodeHistoryItem(item: string): HistoryItem | null {
  try {
    return fromArray(JSON.parse(item));
  } catch {
    return null;
  }
}

/** Joins items into the text of one JSON array: one parse for the batch is cheaper than one per item. */
export function encodeHistoryBatch(items: string[]): string {
  return `[${items.join(",")}]`;
}

/**
 * Decodes a batch joined by {@link encodeHistoryBatch} holding `count` items; null when it does not
 * parse into exactly `count` items (then decode the items one by one to find the bad ones).
 */
export function decodeHistoryBatch(text: string, count: number): HistoryItem[] | null {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return null;
  }
  if (!Array.isArray(parsed) || parsed.length !== count) return null;
  const out: HistoryItem[] = [];
  for (const a of parsed) {
    const one = fromArray(a);
    if (one === null) return null;
    out.push(one);
  }
  return out;
}

function fromArray(a: Encoded): HistoryItem | null {
  if (!Array.isArray(a) || a.length !== 14 || typeof a[0] !== "number" || typeof a[1] !== "number")
    return null;
  const u = a[13];
  const userAgent: UserAgentInfo | null =
    u === null
      ? null
      : { raw: u[0], browserName: u[1], browserMajorVersion: u[2], osName: u[3], osVersion: u[4] };
  const event: UserEvent = {
    id: a[0],
    receivedAt: isoOf(a[1]),
    source: a[2],
    host: a[3],
    action: a[4],
    userDirectory: a[5],
    userId: a[6],
    origin: a[7],
    context: a[8],
    appId: a[9],
    appName: a[10],
    message: a[11],
    userAgent,
    remoteAddress: a[12],
  };
  return { event, ms: a[1] };
}
