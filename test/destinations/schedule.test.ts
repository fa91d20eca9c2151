import { describe, expect, test } from "bun:test";
import { LaneSchedule } from "../../src/destinations/schedule.ts";

const input = { waiting: 3, draining: false, maxBatchItems: 100, flushIntervalMs: 1000 };

function schedule(random = () => 1): LaneSchedule {
  return new LaneSchedule("influxdb", { random });
}

describe("LaneSchedule.due (reference §9), without timers", () => {
  test("an idle lane has nothing due", () => {
    expect(schedule().due(0, { ...input, waiting: 0 })).toBeNull();
  });

  test("a partial batch is due flushIntervalMs after its oldest item", () => {
    const s = schedule();
    s.oldestAt = 5000;
    expect(s.due(5200, input)).toBe(6000);
  });

  test.each([
    ["full", { ...input, waiting: 100 }],
    ["draining", { ...input, draining: true }],
  ])("a %s lane is due at once", (_, i) => {
    const s = schedule();
    s.oldestAt = 5000;
    expect(s.due(5200, i)).toBe(5200);
  });

  test("after a failure the next attempt waits for the backoff, even when full", () => {
    const s = schedule();
    s.settle({ kind: "retry", error: "503" }, 1, 10_000);
    expect(s.due(10_000, { ...input, waiting: 500 })).toBe(11_000);
    s.settle({ kind: "retry", error: "503" }, 1, 11_000);
    expect(s.due(11_000, input)).toBe(13_000);
  });

  test("backoffScale shortens the computed backoff, not Retry-After", () => {
    const s = new LaneSchedule("x", { random: () => 1, backoffScale: 0.01 });
    s.settle({ kind: "retry", error: "503" }, 1, 0);
    expect(s.due(0, input)).toBe(10);
    s.settle({ kind: "retry", error: "429", retryAfterMs: 7000 }, 1, 0);
    expect(s.due(0, input)).toBe(7000);
  });
});

describe("LaneSchedule.settle (reference §9 result classes), without timers", () => {
  test("ok finishes the batch and logs recovery once after an outage", () => {
    const s = schedule();
    expect(s.settle({ kind: "retry", error: "down" }, 2, 0)).toStrictEqual({
      finish: null,
      log: { level: "warn", message: "[outbox] influxdb: delivery failed, retrying: down" },
    });
    expect(s.settle({ kind: "retry", error: "down" }, 2, 1000).log).toBeNull();
    expect(s.settle({ kind: "ok" }, 2, 3000)).toStrictEqual({
      finish: { outcome: null },
      log: { level: "info", message: "[outbox] influxdb: delivering again" },
    });
    expect({ state: s.state, retries: s.retries, lastSuccessAt: s.lastSuccessAt }).toStrictEqual({
      state: "up",
      retries: 2,
      lastSuccessAt: 3000,
    });
  });

  test("too_large halves the cap until the refused items have passed", () => {
    const s = schedule();
    expect(s.settle({ kind: "too_large", error: "413" }, 10, 0).finish).toBeNull();
    expect(s.cap(100)).toBe(5);
    s.settle({ kind: "ok" }, 5, 0);
    expect(s.cap(100)).toBe(5);
    s.settle({ kind: "ok" }, 5, 0);
    expect(s.cap(100)).toBe(100);
  });

  test("a single item still too large is dropped as rejected", () => {
    expect(schedule().settle({ kind: "too_large", error: "413" }, 1, 0).finish).toStrictEqual({
      outcome: { dropped: 1, reason: "rejected" },
    });
  });

  test("a partial write drops only the reported points", () => {
    expect(
      schedule().settle(
        { kind: "partial", error: "partial write: dropped=2", dropped: 2, reason: "rejected" },
        5,
        0,
      ).finish,
    ).toStrictEqual({ outcome: { dropped: 2, reason: "rejected" } });
  });

  test("cardinality refusals are explained once, with what to do", () => {
    const s = schedule();
    const first = s.settle(
      { kind: "rejected", error: "max-values-per-tag limit exceeded", reason: "cardinality" },
      3,
      0,
    );
    const second = s.settle(
      { kind: "rejected", error: "max-values-per-tag limit exceeded", reason: "cardinality" },
      3,
      0,
    );
    expect(first.finish).toStrictEqual({ outcome: { dropped: 3, reason: "cardinality" } });
    expect(first.log?.message).toContain("raise max-values-per-tag");
    expect(second.log).toBeNull();
  });
});
