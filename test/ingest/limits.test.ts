import { describe, expect, test } from "bun:test";
import { createRateLimiter, createTooLargeWarner } from "../../src/ingest/limits.ts";
import { createLogger, type Logger } from "../../src/log.ts";

function capture(): { log: Logger; lines: string[] } {
  const lines: string[] = [];
  return {
    log: createLogger({ level: "debug", write: (l) => lines.push(l.slice(l.indexOf(" ") + 1)) }),
    lines,
  };
}

describe("createRateLimiter", () => {
  test("admits maxPerMinute datagrams per window and refuses the rest", () => {
    const limiter = createRateLimiter({ maxPerMinute: 3, now: () => 1000 });
    expect([1, 2, 3, 4, 5].map(() => limiter.admit())).toStrictEqual([true, true, true, false, false]);
  });

  test("starts a new window at the first datagram after the previous one expired", () => {
    let now = 0;
    const limiter = createRateLimiter({ maxPerMinute: 1, now: () => now });
    const results: boolean[] = [];
    results.push(limiter.admit()); // window [0, 60000)
    now = 59_999;
    results.push(limiter.admit());
    now = 90_000; // expired: the next window starts here, not at 60000
    results.push(limiter.admit());
    now = 149_999;
    results.push(limiter.admit());
    now = 150_000;
    results.push(limiter.admit());
    expect(results).toStrictEqual([true, false, true, false, true]);
  });

  test.each([
    ["no datagram yet", [], 0, 0],
    ["the window just started, elapsed counted as at least 1 s", [0, 0, 0], 0, 180],
    ["30 s into the window", [0, 10_000, 20_000], 30_000, 6],
    ["refused datagrams not counted", [0, 1, 2, 3, 4], 30_000, 6],
    ["window expired", [0, 1], 60_000, 0],
  ])("currentRate with %s", (_name, arrivals, at, rate) => {
    let now = 0;
    const limiter = createRateLimiter({ maxPerMinute: 3, now: () => now });
    for (const t of arrivals) {
      now = t;
      limiter.admit();
    }
    now = at;
    expect(limiter.currentRate()).toBe(rate);
  });

  test("warns once per window and reports the window's refusals when the next starts", () => {
    let now = 0;
    const { log, lines } = capture();
    const limiter = createRateLimiter({ maxPerMinute: 1, now: () => now, log });
    for (let i = 0; i < 4; i++) limiter.admit();
    now = 60_000;
    limiter.admit();
    limiter.admit();
    expect(lines).toStrictEqual([
      "warn: [udp] rate limit of 1 datagrams per minute reached: dropping as rate_limited until the window ends",
      "info: [udp] 3 datagrams were dropped as rate_limited in the previous window",
      "warn: [udp] rate limit of 1 datagrams per minute reached: dropping as rate_limited until the window ends",
    ]);
  });
});

describe("createTooLargeWarner", () => {
  test("warns for the first oversized datagram per 60 s and counts the rest", () => {
    let now = 0;
    const { log, lines } = capture();
    const warner = createTooLargeWarner({ maxMessageSize: 100, log, now: () => now });
    warner.record(200, "10.0.1.21");
    warner.record(300, "10.0.1.21");
    warner.record(400, "10.0.1.22");
    now = 60_000;
    warner.record(500, "10.0.1.23");
    expect(lines).toStrictEqual([
      "warn: [udp] datagram of 200 bytes from 10.0.1.21 dropped as too_large: over maxMessageSize 100",
      "warn: [udp] datagram of 500 bytes from 10.0.1.23 dropped as too_large: over maxMessageSize 100; 2 more datagrams over maxMessageSize dropped in the last 60 s",
    ]);
  });

  test("flush logs the count suppressed in an ended window once", () => {
    let now = 0;
    const { log, lines } = capture();
    const warner = createTooLargeWarner({ maxMessageSize: 100, log, now: () => now });
    warner.record(200, "10.0.1.21");
    warner.record(200, "10.0.1.21");
    warner.flush();
    now = 60_000;
    warner.flush();
    warner.flush();
    expect(lines.slice(1)).toStrictEqual([
      "warn: [udp] 1 more datagram over maxMessageSize dropped in the last 60 s",
    ]);
  });
});
