import { describe, expect, test } from "bun:test";
import { createEventCounter } from "../../src/destinations/influx-metrics.ts";
import type { DeliverableEvent, UserEvent } from "../../src/events/event.ts";
import { createExcluder } from "../../src/ingest/exclude.ts";
import { createRateLimiter } from "../../src/ingest/limits.ts";
import { createPipeline, type PipelineSettings, type PipelineTarget } from "../../src/ingest/pipeline.ts";
import { createProcessor } from "../../src/ingest/process.ts";
import { RejectedLog } from "../../src/ingest/rejected.ts";
import { createUserAgentParser } from "../../src/ingest/user-agent.ts";
import { createLogger } from "../../src/log.ts";
import { createDatagramCounters } from "../../src/stats.ts";

const NOW = Date.parse("2024-11-20T08:15:42.123Z");
const encode = (text: string) => new TextEncoder().encode(text);
const START = encode("/qseow-proxy-session/;node1;Start session;LAB;anna;AppAccess;/;Start session for user");
const EXCLUDED = encode(
  "/qseow-proxy-session/;node1;Start session;LAB;svc;AppAccess;/;Start session for user",
);
const UNKNOWN = encode("/qseow-proxy/;x");

/** A target that serialises an event to one line per id, or to nothing when `empty`. */
function recordingTarget(name: string, empty = false): PipelineTarget {
  return { name, serialize: (d: DeliverableEvent) => (empty ? [] : [`${name}:${d.event.id}`]) };
}

/** A pipeline with real processor, rejected log, event counter and counters; `overrides` change its settings. */
function setup(overrides: Partial<PipelineSettings> = {}, options: { store?: (e: UserEvent) => void } = {}) {
  const counters = createDatagramCounters();
  const lines: string[] = [];
  const log = createLogger({ level: "debug", write: (line) => lines.push(line), now: () => new Date(NOW) });
  const rejected = new RejectedLog({ log, now: () => NOW });
  const eventCount = createEventCounter();
  const stored: UserEvent[] = [];
  const enqueued: [string, string[]][] = [];
  const tooLarge: [number, string][] = [];
  const times: number[] = [];
  const processor = createProcessor({
    appName: () => undefined,
    userAgents: createUserAgentParser(10),
    isExcluded: createExcluder([{ directory: "LAB", userId: "svc" }]),
  });
  const settings: PipelineSettings = {
    allows: null,
    maxMessageSize: 65507,
    rateLimit: null,
    onTooLarge: (bytes, address) => tooLarge.push([bytes, address]),
    eventCount,
    targets: [recordingTarget("influxdb"), recordingTarget("mqtt")],
    ...overrides,
  };
  const pipeline = createPipeline(
    {
      counters,
      processor,
      rejected,
      store: options.store ?? ((event) => stored.push(event)),
      enqueue: (name, items) => enqueued.push([name, items]),
      processingTimes: { record: (ms) => times.push(ms) },
      log,
      now: () => NOW,
    },
    settings,
  );
  return { pipeline, counters, lines, rejected, eventCount, stored, enqueued, tooLarge, times, settings };
}

const zero = createDatagramCounters();

describe("order of checks (reference §2)", () => {
  const big = encode(`${"x".repeat(200)}`);
  test.each([
    [
      "a disallowed source is dropped before the size check",
      { allows: () => false, maxMessageSize: 10 },
      big,
      "source_not_allowed",
    ],
    [
      "a too large datagram is dropped before the rate limit",
      { maxMessageSize: 10, rateLimit: { admit: (): boolean => false } },
      big,
      "too_large",
    ],
    [
      "a rate-limited datagram is dropped before parsing",
      { rateLimit: { admit: (): boolean => false } },
      UNKNOWN,
      "rate_limited",
    ],
  ] as const)("%s", (_name, overrides, datagram, reason) => {
    const t = setup(overrides);
    t.pipeline.handle(datagram, "127.0.0.1", 5000);
    expect(t.counters).toStrictEqual({ ...zero, received: 1, dropped: { ...zero.dropped, [reason]: 1 } });
    expect(t.eventCount.drain()).toStrictEqual([]);
  });

  test("a too large datagram takes no rate-limit slot", () => {
    const limiter = createRateLimiter({ maxPerMinute: 1, now: () => NOW });
    const t = setup({ maxMessageSize: 100, rateLimit: limiter });
    t.pipeline.handle(encode("x".repeat(101)), "127.0.0.1", 5000);
    t.pipeline.handle(START, "127.0.0.1", 5000);
    expect({ accepted: t.counters.accepted, dropped: t.counters.dropped }).toStrictEqual({
      accepted: 1,
      dropped: { source_not_allowed: 0, too_large: 1, rate_limited: 0, queue_full: 0 },
    });
  });

  test("the too-large hook gets the size and the sender", () => {
    const t = setup({ maxMessageSize: 10 });
    t.pipeline.handle(big, "10.0.0.9", 5000);
    expect(t.tooLarge).toStrictEqual([[200, "10.0.0.9"]]);
  });

  test("the allow-list sees the sender address", () => {
    const seen: string[] = [];
    const t = setup({
      allows: (ip) => {
        seen.push(ip);
        return true;
      },
    });
    t.pipeline.handle(START, "::ffff:127.0.0.1", 5000);
    expect({ seen, accepted: t.counters.accepted }).toStrictEqual({
      seen: ["::ffff:127.0.0.1"],
      accepted: 1,
    });
  });
});

describe("outcomes", () => {
  test("an accepted event is counted, stored and enqueued once per target in order", () => {
    const t = setup();
    t.pipeline.handle(START, "::ffff:127.0.0.1", 5000);
    expect({
      counters: t.counters,
      stored: t.stored.map((e) => [e.id, e.userId, e.receivedAt, e.remoteAddress]),
      enqueued: t.enqueued,
      counts: t.eventCount.drain(),
    }).toStrictEqual({
      counters: {
        ...zero,
        received: 1,
        accepted: 1,
        acceptedBySource: { ...zero.acceptedBySource, "qseow-proxy-session": 1 },
      },
      stored: [[1, "anna", "2024-11-20T08:15:42.123Z", "127.0.0.1"]],
      enqueued: [
        ["influxdb", ["influxdb:1"]],
        ["mqtt", ["mqtt:1"]],
      ],
      counts: [{ source: "qseow-proxy-session", host: "node1", subsystem: "AppAccess", count: 1 }],
    });
  });

  test("a target that serialises nothing gets no enqueue", () => {
    const t = setup({ targets: [recordingTarget("mqtt", true), recordingTarget("newrelic:a")] });
    t.pipeline.handle(START, "127.0.0.1", 5000);
    expect(t.enqueued).toStrictEqual([["newrelic:a", ["newrelic:a:1"]]]);
  });

  test("an excluded event is counted and still aggregated, but neither stored nor enqueued", () => {
    const t = setup();
    t.pipeline.handle(EXCLUDED, "127.0.0.1", 5000);
    expect({
      counters: t.counters,
      stored: t.stored,
      enqueued: t.enqueued,
      counts: t.eventCount.drain(),
    }).toStrictEqual({
      counters: { ...zero, received: 1, excluded: 1 },
      stored: [],
      enqueued: [],
      counts: [{ source: "qseow-proxy-session", host: "node1", subsystem: "AppAccess", count: 1 }],
    });
  });

  test("a rejection is counted by reason, kept in the rejected log and aggregated as Unknown", () => {
    const t = setup();
    t.pipeline.handle(UNKNOWN, "::ffff:127.0.0.1", 5000);
    expect({
      counters: t.counters,
      rejected: t.rejected.list(),
      counts: t.eventCount.drain(),
      stored: t.stored,
    }).toStrictEqual({
      counters: { ...zero, received: 1, rejected: { unknown_type: 1, malformed: 0 } },
      rejected: [
        {
          receivedAt: "2024-11-20T08:15:42.123Z",
          reason: "unknown_type",
          detail: 'unknown type "/qseow-proxy/"',
          remoteAddress: "127.0.0.1",
          remotePort: 5000,
          bytes: UNKNOWN.byteLength,
          preview: "/qseow-proxy/;x",
        },
      ],
      counts: [{ source: "Unknown", host: "Unknown", subsystem: "Unknown", count: 1 }],
      stored: [],
    });
  });

  test("without event counts nothing is aggregated and events are still accepted", () => {
    const t = setup({ eventCount: null });
    t.pipeline.handle(START, "127.0.0.1", 5000);
    t.pipeline.handle(UNKNOWN, "127.0.0.1", 5000);
    expect({ accepted: t.counters.accepted, rejected: t.counters.rejected.unknown_type }).toStrictEqual({
      accepted: 1,
      rejected: 1,
    });
  });

  test("the processing time is recorded for each datagram that passes the limits", () => {
    const t = setup({ maxMessageSize: 100 });
    t.pipeline.handle(START, "127.0.0.1", 5000);
    t.pipeline.handle(UNKNOWN, "127.0.0.1", 5000);
    t.pipeline.handle(encode("x".repeat(101)), "127.0.0.1", 5000);
    expect(t.times.length).toBe(2);
  });
});

describe("processing errors", () => {
  test("an exception is counted and logged with a preview, and the next datagram is processed", () => {
    let fail = true;
    const stored: number[] = [];
    const t = setup(
      {},
      {
        store: (event) => {
          if (fail) {
            fail = false;
            throw new Error("ring exploded");
          }
          stored.push(event.id);
        },
      },
    );
    expect(() => t.pipeline.handle(START, "127.0.0.1", 5000)).not.toThrow();
    t.pipeline.handle(START, "127.0.0.1", 5000);
    expect({
      processingErrors: t.counters.processingErrors,
      stored,
      errors: t.lines.filter((l) => l.includes(" error: ")),
    }).toStrictEqual({
      processingErrors: 1,
      stored: [2],
      errors: [
        `2024-11-20T08:15:42.123Z error: [ingest] processing failed: ring exploded ${JSON.stringify({ preview: new TextDecoder().decode(START) })}`,
      ],
    });
  });

  test("the error preview is cut to 512 UTF-16 units", () => {
    const t = setup(
      {},
      {
        store: () => {
          throw new Error("boom");
        },
      },
    );
    t.pipeline.handle(
      encode(`/qseow-proxy-session/;h;Start session;LAB;anna;o;/;${"m".repeat(1000)}`),
      "127.0.0.1",
      1,
    );
    const line = t.lines.find((l) => l.includes("processing failed")) ?? "";
    const preview = JSON.parse(line.slice(line.indexOf("{"))).preview as string;
    expect(preview.length).toBe(512);
  });
});

describe("configure", () => {
  test("new settings apply to the next datagram", () => {
    const t = setup();
    t.pipeline.handle(START, "127.0.0.1", 5000);
    t.pipeline.configure({ ...t.settings, allows: () => false });
    t.pipeline.handle(START, "127.0.0.1", 5000);
    expect({ accepted: t.counters.accepted, dropped: t.counters.dropped.source_not_allowed }).toStrictEqual({
      accepted: 1,
      dropped: 1,
    });
  });

  test("ids continue across a reconfiguration", () => {
    const t = setup();
    t.pipeline.handle(START, "127.0.0.1", 5000);
    t.pipeline.configure({ ...t.settings, targets: [recordingTarget("mqtt")] });
    t.pipeline.handle(START, "127.0.0.1", 5000);
    expect(t.enqueued).toStrictEqual([
      ["influxdb", ["influxdb:1"]],
      ["mqtt", ["mqtt:1"]],
      ["mqtt", ["mqtt:2"]],
    ]);
  });
});
