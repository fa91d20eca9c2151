import { expect, test } from "bun:test";
import fc from "fast-check";
import { Fifo } from "../../src/destinations/fifo.ts";

/** A Fifo holding `count` items `i0…`, sequence numbers 10, 20, … and sizes 1, 2, …. */
function filled(count: number): Fifo {
  const fifo = new Fifo();
  for (let i = 0; i < count; i++) fifo.push(`i${i}`, (i + 1) * 10, i + 1);
  return fifo;
}

test("shiftThrough removes exactly the items up to a sequence number, across compactions", () => {
  const fifo = filled(10_000);
  expect(fifo.shiftThrough(5)).toBe(0);
  expect(fifo.shiftThrough(50_000)).toBe(5000);
  expect({ length: fifo.length, first: fifo.firstSeq(), batch: fifo.batch(2, 100_000).items }).toStrictEqual({
    length: 5000,
    first: 50_010,
    batch: ["i5000", "i5001"],
  });
  // Sizes 5001…10000 are what is left.
  expect(fifo.bytes).toBe(((5001 + 10_000) * 5000) / 2);
  expect(fifo.shiftThrough(Number.POSITIVE_INFINITY)).toBe(5000);
  expect({ length: fifo.length, bytes: fifo.bytes }).toStrictEqual({ length: 0, bytes: 0 });
});

test("a batch without a byte limit is the same batch as one with a limit it never reaches", () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 0, max: 300 }),
      fc.integer({ min: 0, max: 300 }),
      fc.integer({ min: 1, max: 400 }),
      (count, shifted, cap) => {
        const fifo = filled(count);
        fifo.shiftThrough(shifted * 10);
        expect(fifo.batch(cap, Number.POSITIVE_INFINITY)).toStrictEqual(
          fifo.batch(cap, Number.MAX_SAFE_INTEGER),
        );
      },
    ),
  );
});
