import { describe, expect, test } from "bun:test";
import { parseFormatB } from "../../src/ingest/format-b.ts";

describe("format (b) action rules (reference §3.4)", () => {
  test.each([
    ["Start session for user 'LAB\\a'", "Start session"],
    ["  START SESSION for user 'LAB\\a'", "Start session"],
    ["Stop session for user 'LAB\\a'", "Stop session"],
    ["\tstop Session", "Stop session"],
    ["Opening connection for user 'LAB\\a'", "Open connection"],
    [" opening CONNECTION", "Open connection"],
    ["Closing connection for user 'LAB\\a'", "Close connection"],
    ["App connection Opened for session 'x'", "Open connection"],
    ["App CONNECTION opened", "Open connection"],
    ["App connection Closed for session 'x'", "Close connection"],
  ] as const)("reads %p as %s", (message, action) => {
    expect(parseFormatB(message)?.action).toBe(action);
  });

  test.each([
    ["a start rule that is not at the start", "User did Start session"],
    ["an opening rule that is not at the start", "x Opening connection"],
    ["no known phrase", "Session refreshed"],
    ["an empty message", ""],
    ["a phrase only after UserAgent:", "Session refreshed UserAgent: Start session"],
  ])("finds no action in %s", (_name, message) => {
    expect(parseFormatB(message)).toBeNull();
  });

  test("lets an anchored rule win over a contained one", () => {
    expect(parseFormatB("Closing connection; connection Opened")?.action).toBe("Close connection");
  });

  test("uses the earliest of connection Opened / connection Closed", () => {
    expect(parseFormatB("x connection Closed, then connection Opened")?.action).toBe("Close connection");
  });
});

describe("format (b) user rules R1–R4 (reference §3.4)", () => {
  test.each([
    ["R1 quoted after user", "Start session for user 'LAB\\goran'", "LAB", "goran"],
    ["R1 with a space in ID", "Start session for USER 'LAB\\Goran Svensson' now", "LAB", "Goran Svensson"],
    ["R2 bare after user", "Stop session for user LAB\\anna", "LAB", "anna"],
    ["R2 drops one trailing dot", "Stop session for user LAB\\anna..", "LAB", "anna."],
    ["R2 ID ends at a comma", "Stop session for user LAB\\anna, bye", "LAB", "anna"],
    ["R2 ID ends at a semicolon", "Stop session for user LAB\\anna;x", "LAB", "anna"],
    ["R2 ID ends at a double quote", 'Stop session for user LAB\\anna"x', "LAB", "anna"],
    ["R3 quoted anywhere", "Opening connection by 'LAB\\goran'", "LAB", "goran"],
    ["R4 bare anywhere", "Closing connection LAB\\goran", "LAB", "goran"],
    ["R4 drops one trailing dot", "Closing connection LAB\\goran.", "LAB", "goran"],
    ["R1 before R3", "Opening connection 'X\\y' for user 'LAB\\goran'", "LAB", "goran"],
    ["R3 before R4", "Opening connection X\\y by 'LAB\\goran'", "LAB", "goran"],
    ["none", "Opening connection for someone", "", ""],
    ["none: a forward slash is no separator", "Opening connection for LAB/goran", "", ""],
    ["R4 takes DIR from after the last space", "Opening connection 'L AB\\goran", "AB", "goran"],
    ["none: user only after UserAgent:", "Start session UserAgent: 'LAB\\goran'", "", ""],
  ])("%s", (_name, message, userDirectory, userId) => {
    const result = parseFormatB(message);
    expect(result && { userDirectory: result.userDirectory, userId: result.userId }).toStrictEqual({
      userDirectory,
      userId,
    });
  });

  test("returns action and user together", () => {
    expect(parseFormatB("Opening connection for user 'LAB\\anna' UserAgent: 'Mozilla/5.0'")).toStrictEqual({
      action: "Open connection",
      userDirectory: "LAB",
      userId: "anna",
    });
  });
});
