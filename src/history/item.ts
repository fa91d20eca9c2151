import type { DeliverableEvent, EventSource, UserAgentInfo, UserEvent } from "../events/event.ts";
import { isoOf } from "./replay.ts";

/**
 * The user agent of an item: its raw text is usually part of the message, and is then written as its
 * offset and length in it (`[from, length, browser, …]`), which halves a connection event's item.
 */
type EncodedAgent =
  | [string, string | null, string | null, string | null, string | null]
  | [number, number, string | null, string | null, string | null, string | null];

function encodeAgent(ua: UserAgentInfo, message: string): EncodedAgent {
  const from = ua.raw === "" ? -1 : message.indexOf(ua.raw);
  return from < 0
    ? [ua.raw, ua.browserName, ua.browserMajorVersion, ua.osName, ua.osVersion]
    : [from, ua.raw.length, ua.browserName, ua.browserMajorVersion, ua.osName, ua.osVersion];
}

function decodeAgent(u: EncodedAgent, message: string): UserAgentInfo {
  if (u.length === 5) {
    const [raw, browserName, browserMajorVersion, osName, osVersion] = u;
    return { raw, browserName, browserMajorVersion, osName, osVersion };
  }
  const [from, length, browserName, browserMajorVersion, osName, osVersion] = u;
  return { raw: message.slice(from, from + length), browserName, browserMajorVersion, osName, osVersion };
}

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
    ua === null ? null : encodeAgent(ua, e.message),
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
  EncodedAgent | null,
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
  try {
    const parsed: unknown = JSON.parse(text);
    if (!Array.isArray(parsed) || parsed.length !== count) return null;
    const out: HistoryItem[] = [];
    for (const a of parsed) {
      const one = fromArray(a);
      if (one === null) return null;
      out.push(one);
    }
    return out;
  } catch {
    // Not JSON, or an item of another shape than fromArray reads.
    return null;
  }
}

/** Latest receive time a Date can hold (ms). */
const MAX_MS = 8.64e15;
const SOURCES: readonly unknown[] = ["qseow-proxy-session", "qseow-proxy-connection", "proxy-user-event"];

const isText = (v: unknown): v is string => typeof v === "string";
const isTextOrNull = (v: unknown): v is string | null => v === null || typeof v === "string";
const isCount = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) >= 0;

/** True when `u` is an agent as {@link encodeAgent} writes it. */
function isAgent(u: unknown): u is EncodedAgent {
  if (!Array.isArray(u)) return false;
  let from: number;
  if (u.length === 5 && isText(u[0])) from = 1;
  else if (u.length === 6 && isCount(u[0]) && isCount(u[1])) from = 2;
  else return false;
  for (let i = from; i < u.length; i++) if (!isTextOrNull(u[i])) return false;
  return true;
}

/**
 * True when `a` has the shape {@link encodeHistoryItem} writes, field by field: an item from a damaged
 * or crafted spool must be counted as malformed, never stored wrong, nor fail the whole batch's
 * transaction again at every retry, nor carry another item inside it.
 */
function isEncoded(a: unknown): a is Encoded {
  if (!Array.isArray(a) || a.length !== 14) return false;
  const [id, ms, source] = a;
  return (
    Number.isSafeInteger(id) &&
    id > 0 &&
    Number.isSafeInteger(ms) &&
    ms >= 0 &&
    ms <= MAX_MS &&
    SOURCES.includes(source) &&
    isText(a[3]) &&
    isText(a[4]) &&
    isText(a[5]) &&
    isText(a[6]) &&
    isText(a[7]) &&
    isText(a[8]) &&
    isTextOrNull(a[9]) &&
    isTextOrNull(a[10]) &&
    isText(a[11]) &&
    isText(a[12]) &&
    (a[13] === null || isAgent(a[13]))
  );
}

function fromArray(a: unknown): HistoryItem | null {
  if (!isEncoded(a)) return null;
  const u = a[13];
  const userAgent = u === null ? null : decodeAgent(u, a[11]);
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
