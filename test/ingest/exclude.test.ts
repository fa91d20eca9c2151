import { expect, test } from "bun:test";
import { createExcluder } from "../../src/ingest/exclude.ts";

const isExcluded = createExcluder([
  { directory: "LAB", userId: "sa_scheduler" },
  { directory: "internal", userId: "SA_Repository" },
]);

test.each([
  ["LAB", "sa_scheduler"],
  ["lab", "SA_SCHEDULER"],
  ["INTERNAL", "sa_repository"],
  ["Internal", "Sa_Repository"],
])("excludes %s\\%s case-insensitively", (dir, id) => {
  expect(isExcluded(dir, id)).toBe(true);
});

test.each([
  ["LAB", "sa_repository", "the parts come from different entries"],
  ["OTHER", "sa_scheduler", "only the user id matches"],
  ["LAB", "goran", "only the directory matches"],
  [" LAB", "sa_scheduler", "values are not trimmed"],
  ["LAB", "sa_scheduler ", "values are not trimmed"],
  ["LAB\\sa", "scheduler", "the backslash is not a separator"],
  ["", "", "the user is empty"],
])("keeps %s\\%s because %s", (dir, id) => {
  expect(isExcluded(dir, id)).toBe(false);
});

test("treats * literally, not as a wildcard", () => {
  const excluder = createExcluder([{ directory: "LAB", userId: "*" }]);
  expect([excluder("LAB", "goran"), excluder("lab", "*")]).toStrictEqual([false, true]);
});

test("excludes nobody with an empty list", () => {
  expect(createExcluder([])("LAB", "goran")).toBe(false);
});
