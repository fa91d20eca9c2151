import { expect, test } from "bun:test";
import { EventRing } from "../../src/events/ring.ts";
import { createSessionTracker } from "../../src/events/sessions.ts";
import { createPipeline } from "../../src/ingest/pipeline.ts";
import { createProcessor } from "../../src/ingest/process.ts";
import { RejectedLog } from "../../src/ingest/rejected.ts";
import { createUserAgentParser } from "../../src/ingest/user-agent.ts";
import { silentLogger } from "../../src/log.ts";
import { createDatagramCounters } from "../../src/stats.ts";

// The worst-case memory formula of docs/reliability.md ("Hostile input"), checked by measuring RSS
// after a flood of the largest datagrams this path can store. The test runs it with small bounds;
// the document applies the same formula to the defaults. The constants are RSS per item measured on
// Bun 1.4.4 with 16-bit strings of the longest lengths, allocator overhead included, with headroom.

/** RSS of the largest stored event: 3,250 UTF-16 units of fields and its parsed user agent. */
export const EVENT_MAX_BYTES = 32 * 1024;
/** RSS per byte of the session tracker's own estimate (its `sessions.bytes`). */
export const SESSION_ESTIMATE_FACTOR = 2;
/** RSS of the tracker's key cache: 10,000 entries of a 300-unit key at most. */
export const SESSION_KEY_CACHE_BYTES = 10_000 * 2048;
/** RSS of one cached user agent at most (a 1,000-unit raw string and its parsed parts). */
export const UA_MAX_BYTES = 8 * 1024;
/** RSS of one rejected entry at most (512-unit preview, 100-unit detail). */
export const REJECTED_MAX_BYTES = 4 * 1024;

/** The documented bound, in bytes, of what hostile datagrams can make the datagram path hold. */
export function worstCaseBytes(bounds: {
  ringCapacity: number;
  sessionsMaxBytes: number;
  userAgentCache: number;
  rejected: number;
}): number {
  return (
    bounds.ringCapacity * EVENT_MAX_BYTES +
    bounds.sessionsMaxBytes * SESSION_ESTIMATE_FACTOR +
    SESSION_KEY_CACHE_BYTES +
    bounds.userAgentCache * UA_MAX_BYTES +
    bounds.rejected * REJECTED_MAX_BYTES
  );
}

const rss = (): number => {
  Bun.gc(true);
  Bun.gc(true);
  return process.memoryUsage.rss();
};

/** `n` units of a 16-bit (non-Latin-1) character ending in `id`, so nothing is shared or 8-bit. */
const wide = (n: number, id: string): string => "ā".repeat(Math.max(0, n - id.length)) + id;
const guid = (u: number, a: number) =>
  `${u.toString(16).padStart(8, "0")}-${a.toString(16).padStart(4, "0")}-4000-8000-000000000000`;
const encoder = new TextEncoder();

/** The largest datagram the path stores: every field at its cap, a unique user, app and user agent. */
function worstDatagram(run: string, u: number, a: number): Uint8Array {
  const ua = `UserAgent: Mozilla/5.0 ${wide(960, `${run}${u}.${a}`)}`;
  return encoder.encode(
    [
      "/qseow-proxy-connection/",
      wide(100, `h${u}`),
      "Open connection",
      wide(100, "d"),
      wide(100, `${run}u${u}`),
      wide(200, "o"),
      `/app/${guid(u, a)}?${wide(450, "c")}`,
      `${wide(1000 - ua.length, "m")}${ua}`,
      "x".repeat(a % 10 === 0 ? 30_000 : 10),
    ].join(";"),
  );
}

/** A datagram path with the given bounds, flooded with `users` × `apps` worst-case datagrams. */
function flood(run: string, bounds: Parameters<typeof worstCaseBytes>[0], users: number, apps: number) {
  const counters = createDatagramCounters();
  const ring = new EventRing(bounds.ringCapacity);
  const sessions = createSessionTracker({ idleTimeoutMinutes: 30, maxBytes: bounds.sessionsMaxBytes });
  const rejected = new RejectedLog({ log: silentLogger, capacity: bounds.rejected });
  const processor = createProcessor({
    appName: () => undefined,
    userAgents: createUserAgentParser(bounds.userAgentCache),
    isExcluded: () => false,
  });
  const pipeline = createPipeline(
    {
      counters,
      processor,
      rejected,
      store: (event) => {
        ring.push(event);
        sessions.update(event);
      },
      enqueue: () => {},
      processingTimes: { record() {} },
      log: silentLogger,
    },
    { allows: null, maxMessageSize: 65507, rateLimit: null, onTooLarge() {}, eventCount: null, targets: [] },
  );
  for (let u = 0; u < users; u++) {
    for (let a = 0; a < apps; a++) pipeline.handle(worstDatagram(run, u, a), "2001:db8::1", 40_000);
    pipeline.handle(encoder.encode(`${wide(100, `bad${u}`)};${"x".repeat(30_000)}`), "2001:db8::2", 40_000);
  }
  return { counters, ring, sessions, rejected };
}

test("a flood of the largest datagrams stays within the documented worst-case bound (RSS measured)", () => {
  const bounds = { ringCapacity: 500, sessionsMaxBytes: 2 * 1024 * 1024, userAgentCache: 200, rejected: 100 };
  const users = 150;
  const apps = 30;
  // A first flood with everything bounded to almost nothing brings the allocator to its working size,
  // so the second one measures what the bounded structures keep.
  let warmUp: unknown = flood(
    "warm",
    { ringCapacity: 1, sessionsMaxBytes: 1, userAgentCache: 1, rejected: 1 },
    users,
    apps,
  );
  warmUp = null;
  const before = rss();
  const kept = flood("real", bounds, users, apps);
  const grown = rss() - before;
  expect(kept.counters.accepted).toBe(users * apps);
  expect([kept.ring.size, kept.sessions.evicted > 0]).toStrictEqual([bounds.ringCapacity, true]);
  expect(kept.sessions.bytes).toBeLessThanOrEqual(bounds.sessionsMaxBytes);
  const bound = worstCaseBytes(bounds);
  console.log(
    `[worst case] RSS grew ${(grown / 1048576).toFixed(1)} MiB; bound ${(bound / 1048576).toFixed(1)} MiB`,
  );
  expect(grown).toBeLessThanOrEqual(bound);
  expect(warmUp).toBeNull();
}, 120_000);
