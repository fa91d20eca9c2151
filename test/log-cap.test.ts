import { describe, expect, setSystemTime, test } from "bun:test";
import { validateConfig } from "../src/config/validate.ts";
import { createLogger } from "../src/log.ts";
import { createLogCap } from "../src/log-cap.ts";
import { buildIngestSettings } from "../src/run/ingest-settings.ts";

function capture(level: "info" | "debug" = "info") {
  const lines: string[] = [];
  return { log: createLogger({ level, write: (l) => lines.push(l) }), lines };
}

describe("createLogCap", () => {
  test("writes at most maxLinesPerReason lines per reason in an interval", () => {
    const { log, lines } = capture();
    const now = 0;
    const cap = createLogCap({ log, now: () => now, maxLinesPerReason: 3 });
    const a = cap.for("a", (n) => `a happened ${n} times`);
    for (let i = 0; i < 10; i++) a.warn(`a ${i}`);
    expect(lines.map((l) => l.slice(25))).toStrictEqual(["warn: a 0", "warn: a 1", "warn: a 2"]);
    expect(cap.suppressed).toBe(7);
  });

  test("writes at most maxLines lines over all reasons in an interval", () => {
    const { log, lines } = capture();
    const cap = createLogCap({ log, now: () => 0, maxLines: 4, maxLinesPerReason: 3 });
    for (const reason of ["a", "b", "c"]) {
      const l = cap.for(reason, (n) => `${reason} ${n}`);
      for (let i = 0; i < 3; i++) l.error(`${reason}${i}`);
    }
    expect(lines.map((l) => l.slice(25))).toStrictEqual(["error: a0", "error: a1", "error: a2", "error: b0"]);
  });

  test("summarises each capped reason once when the interval ends, with counts and distinct sources", () => {
    const { log, lines } = capture();
    let now = 0;
    const cap = createLogCap({ log, now: () => now, maxLinesPerReason: 1 });
    const drop = cap.for("drop", (n, s) => `dropped ${n} datagrams from ${s} sources`);
    const quiet = cap.for("quiet", (n) => `quiet ${n}`);
    quiet.warn("one quiet line");
    for (let i = 0; i < 39_000; i++) {
      drop.note(`10.0.${(i % 2048) >> 8}.${i % 256}`);
      drop.warn(`drop ${i}`);
    }
    now = 59_999;
    cap.flush();
    expect(lines).toHaveLength(2);
    now = 60_000;
    cap.flush();
    expect(lines.slice(2).map((l) => l.slice(25))).toStrictEqual([
      "warn: dropped 39,000 datagrams from 2,048 sources in the last minute (38,999 log lines suppressed)",
    ]);
    // The next interval starts afresh.
    drop.warn("again");
    expect(lines.at(-1)?.endsWith("warn: again")).toBe(true);
  });

  test("passes info and debug lines through uncapped", () => {
    const { log, lines } = capture("debug");
    const l = createLogCap({ log, now: () => 0, maxLinesPerReason: 1 }).for("x", (n) => n);
    for (let i = 0; i < 5; i++) l.debug(`d${i}`);
    expect(lines).toHaveLength(5);
  });

  test("returns the same capped log for the same reason", () => {
    const cap = createLogCap({ log: capture().log });
    expect(cap.for("x", (n) => n)).toBe(cap.for("x", (n) => `${n}!`));
  });
});

describe("allow-list warnings (regression: 40,000 lines for 2,048 rotating sources)", () => {
  test("40,000 datagrams from 2,048 rotating sources log a bounded number of lines with a summary", async () => {
    const result = validateConfig(
      {
        "Butler-SOS": {
          userEvents: { udpServerConfig: { enableSourceValidation: true, allowedSources: ["192.0.2.1"] } },
        },
      },
      { baseDir: "/tmp" },
    );
    if (!result.ok) throw new Error(JSON.stringify(result.errors));
    const { log, lines } = capture();
    const settings = await buildIngestSettings(result.config, log);
    const allows = settings.allows;
    if (allows === null) throw new Error("allow-list off");
    const before = lines.length;
    for (let i = 0; i < 40_000; i++) expect(allows(`10.1.${(i % 2048) >> 8}.${i % 256}`)).toBe(false);
    const during = lines.length - before;
    expect(during).toBeLessThanOrEqual(10);
    // The interval has ended: the next flush writes the summary.
    setSystemTime(new Date(Date.now() + 61_000));
    try {
      settings.logCap.flush();
    } finally {
      setSystemTime();
    }
    expect(lines.length - before).toBe(during + 1);
    expect(lines.at(-1)).toContain(
      "[udp] dropped 40,000 datagrams from 2,048 sources not in allowedSources in the last minute",
    );
  });
});
