import { describe, expect, test } from "bun:test";
import { diffConfig, restartRequiredPaths } from "../../src/config/diff.ts";
import { defaultConfig, parseConfigText } from "../../src/config/load.ts";

/** Loads YAML text that must be valid. */
function load(text: string) {
  const result = parseConfigText(text, { file: "/cfg/sense-events.yaml" });
  if (!result.ok) throw new Error(JSON.stringify(result.errors));
  return result.config;
}

describe("diffConfig", () => {
  test("equal configs have no changes", () => {
    expect(diffConfig(defaultConfig(), defaultConfig())).toStrictEqual([]);
  });

  test("a changed list is one path, however many items changed (reference §14.4 example)", () => {
    const before = load(
      "Butler-SOS:\n  userEvents:\n    excludeUser:\n      - {directory: LAB, userId: a}\n",
    );
    const after = load(
      "Butler-SOS:\n  userEvents:\n    excludeUser:\n      - {directory: LAB, userId: b}\n      - {directory: LAB, userId: c}\n",
    );
    expect(diffConfig(before, after)).toStrictEqual(["Butler-SOS.userEvents.excludeUser"]);
  });

  test("lists the shortest differing paths, including keys present on one side only", () => {
    const before = load("sense-events:\n  api: {port: 9995}\n  log: {level: info}\n");
    const after = load("sense-events:\n  api: {port: 9996, token: t}\n  log: {level: info}\n");
    expect(diffConfig(before, after)).toStrictEqual(["sense-events.api.port", "sense-events.api.token"]);
  });

  test("a value that changes type counts as changed", () => {
    expect(diffConfig({ a: { b: 1 } }, { a: [1] })).toStrictEqual(["a"]);
  });
});

describe("restartRequiredPaths", () => {
  test.each([
    [["sense-events.api.host", "Butler-SOS.userEvents.tags"], ["sense-events.api.host"]],
    [
      ["sense-events.api.port", "sense-events.outbox.path"],
      ["sense-events.api.port", "sense-events.outbox.path"],
    ],
    [["sense-events.api.token", "sense-events.outbox.shutdownTimeoutMs"], []],
    // Created once at start, so a reload cannot apply them (regression: they were reported as applied).
    [["sense-events.outbox.memoryItems"], ["sense-events.outbox.memoryItems"]],
    [["sense-events.log"], ["sense-events.log.level", "sense-events.log.format"]],
    [["sense-events.api"], ["sense-events.api.enable", "sense-events.api.host", "sense-events.api.port"]],
  ])("%p needs a restart for %p", (changed, expected) => {
    expect(restartRequiredPaths(changed)).toStrictEqual(expected);
  });
});
