import { UAParser } from "ua-parser-js";
import type { UserAgentInfo } from "../events/event.ts";

const MARKER = "UserAgent:";

/** A user-agent parser with an LRU cache keyed by the raw UA string (reference §4.3). */
export interface UserAgentParser {
  /** Parses the UA found in a cleaned message, or returns null when the message has none. */
  parse(message: string): UserAgentInfo | null;
  /** Cache figures for `/api/stats` (`userAgentCache`). */
  stats(): { size: number; hits: number; misses: number };
}

const SLOTS = 64;

/** Trims a UA segment and removes every `'` (reference §4.3). */
function cleanRaw(segment: string): string {
  const raw = segment.trim();
  return raw.includes("'") ? raw.replaceAll("'", "") : raw;
}

/** Parses one raw UA with ua-parser-js 1.x, keeping the four values reference §4.3 exposes. */
function parseRaw(raw: string): UserAgentInfo {
  const { browser, os } = new UAParser(raw).getResult();
  return {
    raw,
    browserName: browser.name ?? null,
    browserMajorVersion: browser.major ?? null,
    osName: os.name ?? null,
    osVersion: os.version ?? null,
  };
}

/** Creates a user-agent parser whose results are cached in a `capacity`-entry LRU (reference §4.3). */
export function createUserAgentParser(capacity = 1000): UserAgentParser {
  // A Map iterates in insertion order, so re-inserting on a hit makes the first key the least recent.
  const cache = new Map<string, UserAgentInfo>();
  let hits = 0;
  let misses = 0;
  let newest = "";
  // Recently seen UA segments (the text after the marker, as sent) and their raw UA, found by a cheap hash and
  // compared in place: a repeated UA then needs no slicing, trimming or hashing of a fresh string.
  const segments: string[] = new Array(SLOTS).fill("");
  const raws: string[] = new Array(SLOTS).fill("");

  /** The raw UA of `message[from, end)`, from the segment table when the same segment was seen recently. */
  function rawOf(message: string, from: number, end: number): string {
    const length = end - from;
    const slot =
      (length * 31 + message.charCodeAt(end - 1) + message.charCodeAt(from + (length >> 1))) & (SLOTS - 1);
    const seen = segments[slot] as string;
    if (seen.length === length && length > 0 && message.startsWith(seen, from)) return raws[slot] as string;
    const segment = message.slice(from, end);
    const raw = cleanRaw(segment);
    segments[slot] = segment;
    raws[slot] = raw;
    return raw;
  }

  return {
    parse(message) {
      const at = message.indexOf(MARKER);
      if (at === -1) return null;
      const from = at + MARKER.length;
      const next = message.indexOf(MARKER, from);
      const raw = rawOf(message, from, next === -1 ? message.length : next);
      if (raw === "") return null;
      const cached = cache.get(raw);
      if (cached !== undefined) {
        hits++;
        // Already the most recent: re-inserting would not change the order.
        if (raw !== newest) {
          cache.delete(raw);
          cache.set(raw, cached);
          newest = raw;
        }
        return cached;
      }
      misses++;
      const info = parseRaw(raw);
      cache.set(raw, info);
      newest = raw;
      if (cache.size > capacity) {
        const oldest = cache.keys().next();
        if (!oldest.done) cache.delete(oldest.value);
      }
      return info;
    },
    stats: () => ({ size: cache.size, hits, misses }),
  };
}
