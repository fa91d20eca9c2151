import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { createDatagramPath, datagramArb, textDatagramArb } from "./datagram-path.ts";

// Bounded here (a few seconds); `npm run fuzz` runs 1,000,000 cases (docs/reliability.md).
const RUNS = 1500;

describe("datagram path under fuzzing (issue 9)", () => {
  test("any bytes: no exception, exactly one outcome, accepted events round-trip through every destination format", () => {
    const path = createDatagramPath();
    fc.assert(
      fc.property(datagramArb, (bytes) => path.check(bytes)),
      { numRuns: RUNS, seed: 9 },
    );
    // The arbitraries reach every outcome, so every branch above was exercised.
    expect(Object.values(path.outcomes).every((n) => n > 0)).toBe(true);
  });

  test("text datagrams with random fields (new seed each run)", () => {
    const path = createDatagramPath();
    fc.assert(
      fc.property(textDatagramArb, (text) => path.check(new TextEncoder().encode(text))),
      { numRuns: RUNS },
    );
    expect(path.outcomes.accepted).toBeGreaterThan(0);
  });
});
