import { describe, expect, test } from "bun:test";
import { cpuMs, statCpuMs } from "../../scripts/bench/ingest.ts";

describe("bench CPU times from /proc (scripts/bench/ingest.ts)", () => {
  test("reads utime + stime after a thread name holding spaces and parentheses", () => {
    const stat = "4242 (odd ) name) R 1 4242 4242 0 -1 4194304 100 0 0 0 250 75 0 0 20 0 9 0 1000 0 0";
    expect(statCpuMs(stat)).toBe((250 + 75) * 10);
  });

  test("this process's main thread and whole process both grow with work, the process never less", () => {
    const all0 = cpuMs(process.pid);
    const main0 = cpuMs(process.pid, process.pid);
    // Work until both figures move (10 ms ticks, and the kernel rounds the process's sum on its own,
    // so the two need not move on the same read), however busy the machine is.
    const deadline = performance.now() + 10_000;
    let x = 0;
    while (
      (cpuMs(process.pid, process.pid) === main0 || cpuMs(process.pid) === all0) &&
      performance.now() < deadline
    ) {
      for (let i = 0; i < 100_000; i++) x += Math.sqrt(x + i);
    }
    expect(x).toBeGreaterThan(0);
    const main1 = cpuMs(process.pid, process.pid);
    const all1 = cpuMs(process.pid);
    expect(main1).toBeGreaterThan(main0);
    expect(all1).toBeGreaterThan(all0);
    expect(all1).toBeGreaterThanOrEqual(main1);
  });

  test("a process that does not exist reads as NaN", () => {
    expect(cpuMs(2 ** 30)).toBeNaN();
  });
});
