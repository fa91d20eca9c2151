import { describe, expect, test } from "bun:test";
import { createMemo } from "../../src/destinations/memo.ts";

describe("createMemo", () => {
  test("computes a value once while it is remembered, and again after the memo started over", () => {
    const made: string[] = [];
    const memo = createMemo((raw) => {
      made.push(raw);
      return `<${raw}>`;
    }, 2);
    expect([memo("a"), memo("a"), memo("b"), memo("a")]).toStrictEqual(["<a>", "<a>", "<b>", "<a>"]);
    expect(made).toStrictEqual(["a", "b"]);
    // A third value starts the memo again: "a" is computed anew, with the same answer.
    expect([memo("c"), memo("a")]).toStrictEqual(["<c>", "<a>"]);
    expect(made).toStrictEqual(["a", "b", "c", "a"]);
  });

  test("does not keep values longer than maxChars", () => {
    let calls = 0;
    const memo = createMemo(
      (raw) => {
        calls++;
        return raw.toUpperCase();
      },
      10,
      3,
    );
    expect([memo("long"), memo("long"), memo("abc"), memo("abc")]).toStrictEqual([
      "LONG",
      "LONG",
      "ABC",
      "ABC",
    ]);
    expect(calls).toBe(3);
  });
});
