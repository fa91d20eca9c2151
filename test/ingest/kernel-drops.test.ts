import { afterEach, describe, expect, test } from "bun:test";
import {
  createKernelDropMonitor,
  type KernelDropMonitor,
  parseSnmp6RcvbufErrors,
  parseSnmpRcvbufErrors,
} from "../../src/ingest/kernel-drops.ts";
import { createLogger, type Logger } from "../../src/log.ts";

const snmp = (rcvbufErrors: number) =>
  [
    "Ip: Forwarding DefaultTTL InReceives InHdrErrors",
    "Ip: 1 64 123456 0",
    "Udp: InDatagrams NoPorts InErrors OutDatagrams RcvbufErrors SndbufErrors InCsumErrors IgnoredMulti MemErrors",
    `Udp: 987654 12 ${rcvbufErrors + 3} 5555 ${rcvbufErrors} 0 0 0 0`,
    "UdpLite: InDatagrams NoPorts InErrors OutDatagrams RcvbufErrors SndbufErrors InCsumErrors IgnoredMulti MemErrors",
    "UdpLite: 0 0 0 0 77 0 0 0 0",
    "",
  ].join("\n");

const snmp6 = (rcvbufErrors: number) =>
  [
    "Udp6InDatagrams                 \t42",
    "Udp6NoPorts                     \t0",
    `Udp6RcvbufErrors                \t${rcvbufErrors}`,
    "UdpLite6RcvbufErrors            \t9",
    "",
  ].join("\n");

function capture(): { log: Logger; lines: string[] } {
  const lines: string[] = [];
  return { log: createLogger({ level: "debug", write: (l) => lines.push(l) }), lines };
}

const monitors: KernelDropMonitor[] = [];
afterEach(() => {
  for (const m of monitors.splice(0)) m.close();
});

function monitor(files: Record<string, string | null>, ipv6: boolean, now = () => 0) {
  const { log, lines } = capture();
  const m = createKernelDropMonitor({ ipv6, log, now, readFile: (path) => files[path] ?? null });
  monitors.push(m);
  return { m, lines };
}

describe("parsing", () => {
  test.each([
    ["the Udp: rows of /proc/net/snmp", snmp(17), 17],
    ["no Udp: rows", "Ip: Forwarding\nIp: 1\n", null],
    ["a Udp: header without RcvbufErrors", "Udp: InDatagrams NoPorts\nUdp: 1 2\n", null],
  ])("RcvbufErrors from %s", (_name, text, value) => {
    expect(parseSnmpRcvbufErrors(text)).toBe(value);
  });

  test.each([
    ["/proc/net/snmp6", snmp6(5), 5],
    ["text without it", "Udp6InDatagrams 1\n", null],
  ])("Udp6RcvbufErrors from %s", (_name, text, value) => {
    expect(parseSnmp6RcvbufErrors(text)).toBe(value);
  });
});

describe("createKernelDropMonitor", () => {
  test("reports the raw value and zero since start at first", () => {
    const { m } = monitor({ "/proc/net/snmp": snmp(100) }, false);
    expect(m.snapshot()).toStrictEqual({ raw: 100, sinceStart: 0 });
  });

  test("adds Udp6RcvbufErrors when bound to IPv6", () => {
    const { m } = monitor({ "/proc/net/snmp": snmp(100), "/proc/net/snmp6": snmp6(5) }, true);
    expect(m.snapshot()).toStrictEqual({ raw: 105, sinceStart: 0 });
  });

  test("is null where /proc is absent", () => {
    const { m } = monitor({}, true);
    m.poll();
    expect(m.snapshot()).toStrictEqual({ raw: null, sinceStart: null });
  });

  test("tracks the increase since start on each poll", () => {
    const files: Record<string, string | null> = { "/proc/net/snmp": snmp(100) };
    const { m } = monitor(files, false);
    files["/proc/net/snmp"] = snmp(130);
    m.poll();
    expect(m.snapshot()).toStrictEqual({ raw: 130, sinceStart: 30 });
  });

  test("warns about an increase at most once per 60 s, with the drops counted since the last warning", () => {
    let now = 0;
    const files: Record<string, string | null> = { "/proc/net/snmp": snmp(100) };
    const { m, lines } = monitor(files, false, () => now);
    m.poll(); // no increase: no warning
    files["/proc/net/snmp"] = snmp(110);
    m.poll();
    now = 10_000;
    files["/proc/net/snmp"] = snmp(120);
    m.poll();
    now = 60_000;
    files["/proc/net/snmp"] = snmp(125);
    m.poll();
    const warnings = lines
      .filter((l) => l.includes(" warn: "))
      .map((l) => l.slice(l.indexOf("dropped"), l.indexOf(" UDP")));
    expect(warnings).toStrictEqual(["dropped 10", "dropped 15"]);
  });
});
