import { describe, expect, test } from "bun:test";
import { createExcluder } from "../../src/ingest/exclude.ts";
import {
  createNsClock,
  createProcessor,
  displayAddress,
  type ProcessorOptions,
  type ProcessResult,
} from "../../src/ingest/process.ts";
import { createUserAgentParser } from "../../src/ingest/user-agent.ts";
import { EVENT_KEYS, SALES_APP_ID } from "../support/events.ts";

const encoder = new TextEncoder();
const MS = 1_732_090_542_123;

const session = (user = "LAB;goran", action = "Start session") =>
  encoder.encode(`/qseow-proxy-session/;pro2-win1;${action};${user};AppAccess;/;m`);

function setup(overrides: Partial<ProcessorOptions> = {}) {
  return createProcessor({
    appName: (id) => (id === SALES_APP_ID ? "Sales analysis" : undefined),
    userAgents: createUserAgentParser(),
    isExcluded: createExcluder([{ directory: "LAB", userId: "sa_scheduler" }]),
    ...overrides,
  });
}

/** The accepted deliverable of a result, failing the test otherwise. */
function accepted(result: ProcessResult) {
  if (result.kind !== "accepted") throw new Error(`not accepted: ${result.kind}`);
  return result.deliverable;
}

describe("ids and keys (reference §6, §18 item 20)", () => {
  test("numbers accepted events 1, 2, 3 and skips rejected and excluded ones", () => {
    const processor = setup();
    const ids = [
      session(),
      encoder.encode("/qseow-proxy/;x"),
      session("lab;SA_SCHEDULER"),
      session(),
      session(),
    ].map((bytes) => {
      const result = processor.process(bytes, "10.0.1.21", MS);
      return result.kind === "accepted" ? result.deliverable.event.id : result.kind;
    });
    expect(ids).toStrictEqual([1, "rejected", "excluded", 2, 3]);
    expect(processor.lastId()).toBe(3);
  });

  test("builds the event with exactly the reference §6 keys in order", () => {
    const event = accepted(setup().process(session(), "10.0.1.21", MS)).event;
    expect(Object.keys(event)).toStrictEqual(EVENT_KEYS);
  });

  test("returns the whole deliverable for an accepted datagram", () => {
    const bytes = encoder.encode(
      `/qseow-proxy-connection/;h;open connection;LAB;goran;AppAccess;/app/${SALES_APP_ID};x UserAgent: curl/8.4.0`,
    );
    expect(setup().process(bytes, "10.0.1.21", MS)).toStrictEqual({
      kind: "accepted",
      origin: "AppAccess",
      deliverable: {
        event: {
          id: 1,
          receivedAt: "2024-11-20T08:15:42.123Z",
          source: "qseow-proxy-connection",
          host: "h",
          action: "Open connection",
          userDirectory: "LAB",
          userId: "goran",
          origin: "AppAccess",
          context: `/app/${SALES_APP_ID}`,
          appId: SALES_APP_ID,
          appName: "Sales analysis",
          message: "x UserAgent: curl/8.4.0",
          userAgent: {
            raw: "curl/8.4.0",
            browserName: null,
            browserMajorVersion: null,
            osName: null,
            osVersion: null,
          },
          remoteAddress: "10.0.1.21",
        },
        receivedAtMs: MS,
        timeNs: `${MS}000000`,
        userFull: "LAB\\goran",
      },
    });
  });

  test("keeps ids running after update() swaps collaborators", () => {
    const processor = setup();
    processor.process(session(), "10.0.1.21", MS);
    processor.update({ isExcluded: createExcluder([{ directory: "lab", userId: "goran" }]) });
    const results = [session(), session("LAB;anna")].map((b) => processor.process(b, "10.0.1.21", MS).kind);
    expect([results, processor.lastId()]).toStrictEqual([["excluded", "accepted"], 2]);
  });
});

describe("rejections and exclusions (reference §3.6, §5, §18 item 19)", () => {
  test("returns the rejection with its detail and decoded text", () => {
    expect(setup().process(encoder.encode("/qseow-proxy-session/;pro2-win1"), "10.0.1.21", MS)).toStrictEqual(
      {
        kind: "rejected",
        reason: "malformed",
        detail: "qseow-proxy-session needs 8 fields, got 2",
        text: "/qseow-proxy-session/;pro2-win1",
      },
    );
  });

  test("returns source, host and origin of an excluded event for event counts", () => {
    expect(setup().process(session("Lab;Sa_Scheduler"), "10.0.1.21", MS)).toStrictEqual({
      kind: "excluded",
      source: "qseow-proxy-session",
      host: "pro2-win1",
      origin: "AppAccess",
    });
  });

  test("excludes a format (b) user case-insensitively", () => {
    const bytes = encoder.encode(
      "/proxy-user-event/;h;AppAccess;/;Start session for user 'lab\\SA_scheduler'",
    );
    expect(setup().process(bytes, "10.0.1.21", MS).kind).toBe("excluded");
  });
});

describe("enrichment (reference §4, §18 items 11, 15)", () => {
  test.each([
    ["LAB;goran", "LAB\\goran"],
    [";goran", ""],
    ["LAB;", ""],
    ["(null);(null)", ""],
  ])("sets userFull for user fields %p to %p", (user, userFull) => {
    expect(accepted(setup().process(session(user), "10.0.1.21", MS)).userFull).toBe(userFull);
  });

  test("gives appName null in the API for an unknown app", () => {
    const bytes = encoder.encode(
      "/qseow-proxy-connection/;h;Open connection;LAB;goran;AppAccess;/app/0e3a9c7d-5b1f-4c2a-8d6e-7f9a1b2c3d4e;m",
    );
    const event = accepted(setup().process(bytes, "10.0.1.21", MS)).event;
    expect([event.appId, event.appName]).toStrictEqual(["0e3a9c7d-5b1f-4c2a-8d6e-7f9a1b2c3d4e", null]);
  });

  test("does not look up an app name without an appId", () => {
    const looked: string[] = [];
    const processor = setup({
      appName: (id) => {
        looked.push(id);
        return "x";
      },
    });
    const event = accepted(processor.process(session(), "10.0.1.21", MS)).event;
    expect([event.appId, event.appName, looked]).toStrictEqual([null, null, []]);
  });

  test("keeps an unknown command as sent, trimmed", () => {
    const event = accepted(
      setup().process(session("LAB;goran", "  Refresh session "), "10.0.1.21", MS),
    ).event;
    expect(event.action).toBe("Refresh session");
  });

  test.each([
    ["::ffff:10.0.1.21", "10.0.1.21"],
    ["::FFFF:192.168.0.1", "192.168.0.1"],
    ["10.0.1.21", "10.0.1.21"],
    ["fd00::15", "fd00::15"],
    ["::ffff:abcd", "::ffff:abcd"],
    ["::1", "::1"],
  ])("shows sender %s as %s", (address, shown) => {
    expect(displayAddress(address)).toBe(shown);
    expect(accepted(setup().process(session(), address, MS)).event.remoteAddress).toBe(shown);
  });
});

describe("timestamps (reference §10.2)", () => {
  test("counts earlier accepted events in the same millisecond", () => {
    const processor = setup();
    const stamps = [MS, MS, MS + 1, MS + 1, MS + 1].map(
      (ms) => accepted(processor.process(session(), "10.0.1.21", ms)).timeNs,
    );
    expect(stamps).toStrictEqual([
      `${MS}000000`,
      `${MS}000001`,
      `${MS + 1}000000`,
      `${MS + 1}000001`,
      `${MS + 1}000002`,
    ]);
  });

  test("does not advance k for excluded or rejected datagrams", () => {
    const processor = setup();
    processor.process(session(), "10.0.1.21", MS);
    processor.process(session("LAB;sa_scheduler"), "10.0.1.21", MS);
    processor.process(encoder.encode(""), "10.0.1.21", MS);
    expect(accepted(processor.process(session(), "10.0.1.21", MS)).timeNs).toBe(`${MS}000001`);
  });

  test("keeps k at 999999 once it gets there", () => {
    const clock = createNsClock();
    let last = "";
    for (let i = 0; i < 1_000_002; i++) last = clock.stamp(MS);
    expect([last, clock.stamp(MS), clock.stamp(MS + 1)]).toStrictEqual([
      `${MS}999999`,
      `${MS}999999`,
      `${MS + 1}000000`,
    ]);
  });

  test("equals ms × 10^6 + k as a decimal integer", () => {
    const clock = createNsClock();
    clock.stamp(MS);
    expect(BigInt(clock.stamp(MS))).toBe(BigInt(MS) * 1_000_000n + 1n);
  });
});

describe("per-millisecond and per-sender caches", () => {
  test("gives each event the ISO time of its own millisecond when consecutive events share or change it", () => {
    const processor = setup();
    const times = [MS, MS + 0.9, MS + 1, MS, MS + 86_400_000];
    const shown = times.map((t) => accepted(processor.process(session(), "10.0.0.1", t)).event.receivedAt);
    expect(shown).toStrictEqual(times.map((t) => new Date(Math.trunc(t)).toISOString()));
  });

  test("shows each event's own remote address when the sender changes", () => {
    const processor = setup();
    const addresses = ["::ffff:10.0.0.1", "::ffff:10.0.0.1", "10.0.0.2", "::1", "::ffff:10.0.0.1"];
    const shown = addresses.map((a) => accepted(processor.process(session(), a, MS)).event.remoteAddress);
    expect(shown).toStrictEqual(["10.0.0.1", "10.0.0.1", "10.0.0.2", "::1", "10.0.0.1"]);
  });
});
