import { describe, expect, test } from "bun:test";
import { createAllowList, createSourceGate } from "../../src/ingest/allow-list.ts";
import { parseIPv4, parseIPv6 } from "../../src/ingest/ip.ts";
import { createLogger, type Logger } from "../../src/log.ts";

function capture(level: "info" | "debug" = "debug"): { log: Logger; lines: string[] } {
  const lines: string[] = [];
  return { log: createLogger({ level, write: (l) => lines.push(l) }), lines };
}

const noResolve = async (host: string): Promise<string[]> => {
  throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${host}`), { code: "ENOTFOUND" });
};

describe("parseIPv4", () => {
  test.each([
    ["0.0.0.0", 0],
    ["10.0.1.21", 0x0a000115],
    ["255.255.255.255", 0xffffffff],
    ["1.2.3", -1],
    ["1.2.3.4.5", -1],
    ["256.1.1.1", -1],
    ["01.2.3.4", -1],
    ["1..3.4", -1],
    ["1.2.3.4 ", -1],
    ["", -1],
  ])("%p parses to %p", (text, value) => {
    expect(parseIPv4(text)).toBe(value);
  });
});

describe("parseIPv6", () => {
  test.each([
    ["::", [0, 0, 0, 0]],
    ["::1", [0, 0, 0, 1]],
    ["fd00::", [0xfd000000, 0, 0, 0]],
    ["2001:DB8::8:800:200C:417A", [0x20010db8, 0, 0x00080800, 0x200c417a]],
    ["::ffff:10.0.1.21", [0, 0, 0xffff, 0x0a000115]],
    ["fe80::1%eth0", [0xfe800000, 0, 0, 1]],
    ["1:2:3:4:5:6:7:8", [0x10002, 0x30004, 0x50006, 0x70008]],
  ])("%p parses", (text, words) => {
    expect(Array.from(parseIPv6(text) ?? [])).toStrictEqual(words);
  });

  test.each(["1:2:3:4:5:6:7", "1::2::3", "12345::", "g::", "10.0.0.1", "1:2:3:4:5:6:7:8:9", ":1"])(
    "%p is not IPv6",
    (text) => {
      expect(parseIPv6(text)).toBeNull();
    },
  );
});

describe("createAllowList", () => {
  const entries = ["10.0.1.21", "192.168.0.0/16", "2001:db8::5", "fd00::/8", "::ffff:172.16.0.0/108"];

  test.each([
    ["10.0.1.21", true],
    ["10.0.1.22", false],
    ["192.168.44.7", true],
    ["192.169.0.1", false],
    ["2001:db8::5", true],
    ["2001:db8::6", false],
    ["fd12:3456::1", true],
    ["fe80::1", false],
    ["::ffff:10.0.1.21", true],
    ["::FFFF:192.168.1.1", true],
    ["::ffff:0a00:0115", true],
    ["::ffff:10.0.1.99", false],
    ["172.16.200.1", true],
    ["172.32.0.1", false],
    ["not-an-ip", false],
  ])("allows %p: %p", async (ip, allowed) => {
    const list = await createAllowList(entries);
    expect(list.allows(ip)).toBe(allowed);
  });

  test("resolves hostnames to A and AAAA addresses", async () => {
    const list = await createAllowList(["localhost"], { resolve: async () => ["127.0.0.1", "::1"] });
    expect({
      v4: list.allows("127.0.0.1"),
      v6: list.allows("::1"),
      other: list.allows("127.0.0.2"),
      failedClosed: list.failedClosed,
      summary: list.summary,
    }).toStrictEqual({
      v4: true,
      v6: true,
      other: false,
      failedClosed: false,
      summary: "localhost (127.0.0.1, ::1)",
    });
  });

  test("logs an unresolvable hostname at error and keeps the other entries", async () => {
    const { log, lines } = capture();
    const list = await createAllowList(["nowhere.invalid", "10.0.0.0/8"], { resolve: noResolve, log });
    expect({
      allows: list.allows("10.9.9.9"),
      failedClosed: list.failedClosed,
      summary: list.summary,
    }).toStrictEqual({
      allows: true,
      failedClosed: false,
      summary: "10.0.0.0/8",
    });
    expect(lines.filter((l) => l.includes(" error: ")).length).toBe(1);
    expect(lines[0]).toContain(
      'error: [udp] Butler-SOS.userEvents.udpServerConfig.allowedSources[0]: cannot resolve "nowhere.invalid" (ENOTFOUND); ignored',
    );
  });

  test("reports each unusable entry once, with the same lines check-config prints; an empty entry is skipped", async () => {
    const resolve = async (host: string) => {
      if (host === "good.lab") return ["10.0.0.1"];
      if (host === "empty.lab") return [];
      throw Object.assign(new Error("not found"), { code: "ENOTFOUND" });
    };
    const list = await createAllowList(["10.0.0.1", "good.lab", "bad.lab", "<x>", "", "empty.lab"], {
      resolve,
    });
    expect(list.problems).toStrictEqual([
      'Butler-SOS.userEvents.udpServerConfig.allowedSources[2]: cannot resolve "bad.lab" (ENOTFOUND); ignored',
      'Butler-SOS.userEvents.udpServerConfig.allowedSources[3]: "<x>" is not an IP address, CIDR range or hostname; ignored',
      'Butler-SOS.userEvents.udpServerConfig.allowedSources[5]: "empty.lab" resolves to no usable address; ignored',
    ]);
  });

  test("a zero-padded IPv4 entry is refused, not resolved (a resolver reads 010.1.1.1 as octal 8.1.1.1)", async () => {
    const { log } = capture();
    const octalResolver = async () => ["8.1.1.1"];
    const allowList = await createAllowList(["010.1.1.1"], { resolve: octalResolver, log });
    expect({ failedClosed: allowList.failedClosed, octal: allowList.allows("8.1.1.1") }).toStrictEqual({
      failedClosed: true,
      octal: false,
    });
  });

  test.each([
    ["an empty list", []],
    ["blank entries", ["", "  "]],
    ["only bad entries", ["10.0.0.0/33", "fd00::/129", "1.2.3.4/x", "not a host!"]],
    ["only unresolvable hostnames", ["nowhere.invalid"]],
  ])("fails closed with %s", async (_name, list) => {
    const { log, lines } = capture();
    const allowList = await createAllowList(list, { resolve: noResolve, log });
    expect({
      failedClosed: allowList.failedClosed,
      v4: allowList.allows("10.0.0.1"),
      v6: allowList.allows("::1"),
      summary: allowList.summary,
    }).toStrictEqual({
      failedClosed: true,
      v4: false,
      v6: false,
      summary: "no usable entry (fails closed: every datagram is dropped)",
    });
    expect(lines.some((l) => l.includes(" error: ") && l.includes("no usable entry"))).toBe(true);
  });

  test("masks host bits in a CIDR entry", async () => {
    const list = await createAllowList(["10.1.2.3/8"]);
    expect([list.allows("10.200.0.1"), list.allows("11.0.0.1")]).toStrictEqual([true, false]);
  });

  test("a /0 range allows every address of its family", async () => {
    const list = await createAllowList(["0.0.0.0/0"]);
    expect([list.allows("8.8.8.8"), list.allows("::ffff:1.1.1.1"), list.allows("2001:db8::1")]).toStrictEqual(
      [true, true, false],
    );
  });
});

describe("createSourceGate", () => {
  test("admits allowed sources without logging", async () => {
    const { log, lines } = capture();
    const gate = createSourceGate(await createAllowList(["10.0.0.0/8"]), log);
    expect([gate.admit("10.0.0.1"), gate.admit("::ffff:10.0.0.2"), gate.rejected, lines]).toStrictEqual([
      true,
      true,
      0,
      [],
    ]);
  });

  test("counts every rejection and warns once per IP per 60 s, the rest at debug", async () => {
    let now = 0;
    const { log, lines } = capture();
    const gate = createSourceGate(await createAllowList(["10.0.0.0/8"]), log, () => now);
    gate.admit("192.0.2.1");
    gate.admit("::ffff:192.0.2.1");
    gate.admit("192.0.2.2");
    now = 59_999;
    gate.admit("192.0.2.1");
    now = 60_000;
    gate.admit("192.0.2.1");
    const levels = lines.map((l) => l.split(" ").slice(1, 2).join("") + l.slice(l.indexOf("from ")));
    expect(gate.rejected).toBe(5);
    expect(levels).toStrictEqual([
      "warn:from 192.0.2.1 dropped: source not in allowedSources",
      "debug:from 192.0.2.1 dropped: source not in allowedSources",
      "warn:from 192.0.2.2 dropped: source not in allowedSources",
      "debug:from 192.0.2.1 dropped: source not in allowedSources",
      "warn:from 192.0.2.1 dropped: source not in allowedSources (2 more from it in the previous window)",
    ]);
  });

  test("drops everything when the allow-list failed closed", async () => {
    const gate = createSourceGate(await createAllowList([]), capture().log);
    expect([gate.admit("127.0.0.1"), gate.admit("::1"), gate.rejected]).toStrictEqual([false, false, 2]);
  });
});
