import { describe, expect, test } from "bun:test";
import { RejectedLog, type Rejection } from "../../src/ingest/rejected.ts";
import { createLogger } from "../../src/log.ts";

/** A RejectedLog on a manual clock whose log lines are collected as parsed JSON. */
function setup(capacity?: number) {
  const clock = { ms: 1_732_092_360_000 };
  const lines: Record<string, unknown>[] = [];
  const log = createLogger({
    level: "silly",
    format: "json",
    write: (line) => lines.push(JSON.parse(line)),
    now: () => new Date(0),
  });
  const rejected = new RejectedLog({ log, now: () => clock.ms, capacity });
  return { clock, lines, rejected };
}

/** Log lines without their time stamp. */
const messages = (lines: Record<string, unknown>[]) => lines.map(({ time: _t, ...rest }) => rest);

const rejection = (overrides: Partial<Rejection> = {}): Rejection => ({
  receivedAt: "2024-11-20T08:46:00.000Z",
  reason: "malformed",
  detail: "qseow-proxy-session needs 8 fields, got 2",
  text: "/qseow-proxy-session/;pro2-win1",
  remoteAddress: "10.0.1.21",
  remotePort: 53127,
  bytes: 31,
  ...overrides,
});

describe("ring (reference §3.6, §18 item 10)", () => {
  test("stores the entry with its preview", () => {
    const { rejected } = setup();
    rejected.add(rejection());
    expect(rejected.list()).toStrictEqual([
      {
        receivedAt: "2024-11-20T08:46:00.000Z",
        reason: "malformed",
        detail: "qseow-proxy-session needs 8 fields, got 2",
        remoteAddress: "10.0.1.21",
        remotePort: 53127,
        bytes: 31,
        preview: "/qseow-proxy-session/;pro2-win1",
      },
    ]);
  });

  test("cuts the preview to 512 units of the uncleaned text", () => {
    const { rejected } = setup();
    const entry = rejected.add(rejection({ text: `\u0001${"p".repeat(600)}` }));
    expect(entry.preview).toBe(`\u0001${"p".repeat(511)}`);
  });

  test("never splits a surrogate pair in the preview", () => {
    const { rejected } = setup();
    const entry = rejected.add(rejection({ text: `${"p".repeat(511)}😀` }));
    expect(entry.preview).toBe("p".repeat(511));
  });

  test("shows an IPv4-mapped sender as IPv4", () => {
    const { rejected } = setup();
    expect(rejected.add(rejection({ remoteAddress: "::ffff:10.0.1.21" })).remoteAddress).toBe("10.0.1.21");
  });

  test("lists entries newest first", () => {
    const { rejected } = setup();
    for (const port of [1, 2, 3]) rejected.add(rejection({ remotePort: port }));
    expect(rejected.list().map((e) => e.remotePort)).toStrictEqual([3, 2, 1]);
  });

  test("keeps only the last 100 entries by default", () => {
    const { rejected } = setup();
    for (let port = 1; port <= 130; port++) rejected.add(rejection({ remotePort: port }));
    const ports = rejected.list().map((e) => e.remotePort);
    expect([ports.length, ports[0], ports.at(-1)]).toStrictEqual([100, 130, 31]);
  });

  test("counts rejections by reason", () => {
    const { rejected } = setup();
    rejected.add(rejection());
    rejected.add(rejection({ reason: "unknown_type" }));
    rejected.add(rejection());
    expect(rejected.counts).toStrictEqual({ unknown_type: 1, malformed: 2 });
  });
});

describe("throttled logging (reference §3.6, §18 item 10)", () => {
  const first = {
    level: "warn",
    msg: "rejected malformed datagram from 10.0.1.21:53127: qseow-proxy-session needs 8 fields, got 2",
    preview: "/qseow-proxy-session/;pro2-win1",
  };

  test("logs the first rejection per reason at warn with its preview", () => {
    const { lines, rejected } = setup();
    rejected.add(rejection());
    rejected.add(rejection({ reason: "unknown_type", detail: 'unknown type "x"', text: "x" }));
    expect(messages(lines)).toStrictEqual([
      first,
      {
        level: "warn",
        msg: 'rejected unknown_type datagram from 10.0.1.21:53127: unknown type "x"',
        preview: "x",
      },
    ]);
  });

  test("suppresses further rejections of the same reason within 60 s", () => {
    const { clock, lines, rejected } = setup();
    rejected.add(rejection());
    clock.ms += 59_999;
    rejected.add(rejection());
    expect(messages(lines)).toStrictEqual([first]);
  });

  test("logs the suppressed count before the next rejection after the window", () => {
    const { clock, lines, rejected } = setup();
    for (let i = 0; i < 4; i++) rejected.add(rejection());
    clock.ms += 60_000;
    rejected.add(rejection());
    expect(messages(lines)).toStrictEqual([
      first,
      { level: "warn", msg: "3 more malformed datagrams rejected in the last 60 s" },
      first,
    ]);
  });

  test("flushExpired logs the suppressed count once the window has ended", () => {
    const { clock, lines, rejected } = setup();
    rejected.add(rejection());
    rejected.add(rejection());
    rejected.flushExpired();
    clock.ms += 60_000;
    rejected.flushExpired();
    rejected.flushExpired();
    rejected.add(rejection());
    expect(messages(lines)).toStrictEqual([
      first,
      { level: "warn", msg: "1 more malformed datagrams rejected in the last 60 s" },
      first,
    ]);
  });

  test("flushExpired logs nothing when nothing was suppressed", () => {
    const { clock, lines, rejected } = setup();
    rejected.add(rejection());
    clock.ms += 120_000;
    rejected.flushExpired();
    expect(messages(lines)).toStrictEqual([first]);
  });
});
