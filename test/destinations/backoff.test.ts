import { describe, expect, test } from "bun:test";
import { backoffMs, retryAfterMs } from "../../src/destinations/backoff.ts";

describe("backoffMs", () => {
  test.each([
    [1, 1000],
    [2, 2000],
    [3, 4000],
    [6, 32_000],
    [7, 60_000],
    [50, 60_000],
  ])("attempt %i with the largest factor waits %i ms", (attempt, expected) => {
    expect(backoffMs(attempt, () => 1)).toBe(expected);
  });

  test.each([
    [1, 500],
    [4, 4000],
    [20, 30_000],
  ])("attempt %i with the smallest factor waits half: %i ms", (attempt, expected) => {
    expect(backoffMs(attempt, () => 0)).toBe(expected);
  });

  test("scales linearly with the random factor between 0.5 and 1", () => {
    expect(backoffMs(3, () => 0.5)).toBe(3000);
  });
});

describe("retryAfterMs", () => {
  const now = Date.UTC(2026, 0, 1, 12, 0, 0);

  test.each([
    ["120", 120_000],
    [" 5 ", 5000],
    ["0", 0],
    ["301", 300_000],
    ["86400", 300_000],
  ])("reads %p seconds as %i ms, capped at 300 s", (header, expected) => {
    expect(retryAfterMs(header, now)).toBe(expected);
  });

  test.each([
    ["Thu, 01 Jan 2026 12:00:30 GMT", 30_000],
    ["Thu, 01 Jan 2026 13:00:00 GMT", 300_000],
    ["Thu, 01 Jan 2026 11:59:00 GMT", 0],
  ])("reads the HTTP date %p as %i ms from now", (header, expected) => {
    expect(retryAfterMs(header, now)).toBe(expected);
  });

  test.each([null, undefined, "", "soon", "-5"])("gives undefined for %p", (header) => {
    expect(retryAfterMs(header, now)).toBeUndefined();
  });
});
