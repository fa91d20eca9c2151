import { expect, test } from "bun:test";
import { ProcessingTimes } from "../../src/ingest/processing-time.ts";

function filled(values: number[]): ProcessingTimes {
  const times = new ProcessingTimes();
  for (const v of values) times.record(v);
  return times;
}

test("summary is all zero without samples", () => {
  expect(new ProcessingTimes().summary()).toStrictEqual({ avg: 0, p95: 0, max: 0 });
});

test.each([
  [[2], { avg: 2, p95: 2, max: 2 }],
  [[4, 1, 3, 2], { avg: 2.5, p95: 4, max: 4 }],
  [Array.from({ length: 20 }, (_, i) => 20 - i), { avg: 10.5, p95: 19, max: 20 }],
  [Array.from({ length: 100 }, (_, i) => i + 1), { avg: 50.5, p95: 95, max: 100 }],
])("summary of %p uses p95 = sorted[ceil(0.95n)-1]", (values, expected) => {
  expect(filled(values).summary()).toStrictEqual(expected);
});

test("sorts numerically, not as strings", () => {
  expect(filled([10, 9, 100]).summary().max).toBe(100);
});

test("keeps only the last 1000 samples", () => {
  const times = filled([1_000_000, ...Array.from({ length: 1000 }, () => 1)]);
  expect(times.summary()).toStrictEqual({ avg: 1, p95: 1, max: 1 });
});

test("reset forgets every sample", () => {
  const times = filled([5, 6]);
  times.reset();
  expect(times.summary()).toStrictEqual({ avg: 0, p95: 0, max: 0 });
});
