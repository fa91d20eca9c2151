import { expect, test } from "bun:test";
import { startGcAfterBurst } from "../src/gc-after-burst.ts";

test("collects once when a burst is over, never during a sustained flood", () => {
  let received = 0;
  let collections = 0;
  const trim = startGcAfterBurst({
    received: () => received,
    burst: 1000,
    quietPerSecond: 100,
    collect: () => collections++,
    intervalMs: 1000,
  });
  try {
    for (let s = 0; s < 5; s++) {
      received += 500; // a flood of 500/s: still busy
      trim.check();
    }
    expect(collections).toBe(0);
    received += 10; // quiet now
    trim.check();
    expect(collections).toBe(1);
    trim.check();
    received += 50;
    trim.check();
    expect(collections).toBe(1);
  } finally {
    trim.close();
  }
});
