import { UAParser } from "ua-parser-js";
import type { UserAgentInfo } from "../events/event.ts";

const MARKER = "UserAgent:";

/** A user-agent parser with an LRU cache keyed by the raw UA string (spec §4.3). */
export interface UserAgentParser {
  /** Parses the UA found in a cleaned message, or returns null when the message has none. */
  parse(message: string): UserAgentInfo | null;
  /** Cache figures for `/api/stats` (`userAgentCache`). */
  stats(): { size: number; hits: number; misses: number };
}

/**
 * Extracts the raw UA from a message (spec §4.3): the text after the first `UserAgent:` up to any
 * second one, trimmed, with every `'` removed; "" when there is none.
 */
export function rawUserAgent(message: string): string {
  const at = message.indexOf(MARKER);
  if (at === -1) return "";
  const from = at + MARKER.length;
  const next = message.indexOf(MARKER, from);
  const raw = (next === -1 ? message.slice(from) : message.slice(from, next)).trim();
  return raw.includes("'") ? raw.replaceAll("'", "") : raw;
}

/** Parses one raw UA with ua-parser-js 1.x, keeping the four values the spec exposes. */
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

/** Creates a user-agent parser whose results are cached in a `capacity`-entry LRU (spec §4.3). */
export function createUserAgentParser(capacity = 1000): UserAgentParser {
  // A Map iterates in insertion order, so re-inserting on a hit makes the first key the least recent.
  const cache = new Map<string, UserAgentInfo>();
  let hits = 0;
  let misses = 0;
  return {
    parse(message) {
      const raw = rawUserAgent(message);
      if (raw === "") return null;
      const cached = cache.get(raw);
      if (cached !== undefined) {
        hits++;
        cache.delete(raw);
        cache.set(raw, cached);
        return cached;
      }
      misses++;
      const info = parseRaw(raw);
      cache.set(raw, info);
      if (cache.size > capacity) {
        const oldest = cache.keys().next();
        if (!oldest.done) cache.delete(oldest.value);
      }
      return info;
    },
    stats: () => ({ size: cache.size, hits, misses }),
  };
}
