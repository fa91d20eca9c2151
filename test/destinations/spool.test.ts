import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Spool } from "../../src/destinations/spool.ts";
import { openSpool } from "../../src/destinations/spool-file.ts";
import { createLogger, silentLogger } from "../../src/log.ts";

let dir: string;
let spool: Spool;

function open(): Spool {
  const opened = openSpool(join(dir, "outbox.sqlite"), silentLogger);
  if (!opened) throw new Error("spool did not open");
  return opened;
}

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "spool-test-"));
  spool = open();
});

afterEach(() => {
  spool.close();
  rmSync(dir, { recursive: true, force: true });
});

const payloads = (rows: { payload: string }[]) => rows.map((row) => row.payload);

describe("spool", () => {
  test("peek returns one destination's items in append order", () => {
    spool.append("influxdb", ["a", "b"]);
    spool.append("mqtt", ["x"]);
    spool.append("influxdb", ["c"]);
    expect(payloads(spool.peek("influxdb", 10))).toStrictEqual(["a", "b", "c"]);
    expect(payloads(spool.peek("influxdb", 2))).toStrictEqual(["a", "b"]);
  });

  test("counts items per destination and payload bytes in UTF-8", () => {
    spool.append("influxdb", ["ab", "é"]);
    spool.append("mqtt", ["xyz"]);
    expect({
      influx: spool.count("influxdb"),
      mqtt: spool.count("mqtt"),
      bytes: spool.totalBytes(),
    }).toStrictEqual({
      influx: 2,
      mqtt: 1,
      bytes: 7,
    });
    expect(spool.destinations().sort()).toStrictEqual(["influxdb", "mqtt"]);
  });

  test.each([1, 63, 64, 65, 200])("appends %i items in order, in one statement per 64 rows", (n) => {
    const items = Array.from({ length: n }, (_, i) => `item ${i}`);
    spool.append("mqtt", items);
    expect([payloads(spool.peek("mqtt", 1000)), spool.totalBytes()]).toStrictEqual([
      items,
      items.reduce((sum, item) => sum + item.length, 0),
    ]);
  });

  test("append counts the caller's byte sizes when given instead of measuring again", () => {
    spool.append("influxdb", ["ab", "é"], [5, 7]);
    expect(spool.totalBytes()).toBe(12);
  });

  test("remove deletes only the destination's items up to the seq", () => {
    spool.append("influxdb", ["a", "b", "c"]);
    spool.append("mqtt", ["x"]);
    const [, second] = spool.peek("influxdb", 2);
    expect(spool.remove("influxdb", second?.seq ?? 0)).toStrictEqual({
      destination: "influxdb",
      items: 2,
      bytes: 2,
    });
    expect(payloads(spool.peek("influxdb", 10))).toStrictEqual(["c"]);
    expect(payloads(spool.peek("mqtt", 10))).toStrictEqual(["x"]);
  });

  test("a destination with nothing left is no longer listed", () => {
    spool.append("mqtt", ["x"]);
    spool.remove("mqtt", spool.peek("mqtt", 1)[0]?.seq ?? 0);
    expect({ destinations: spool.destinations(), count: spool.count("mqtt") }).toStrictEqual({
      destinations: [],
      count: 0,
    });
  });

  test("prepend puts items in front of everything spooled, in their own order", () => {
    spool.append("influxdb", ["c", "d"]);
    spool.append("mqtt", ["x"]);
    spool.prepend("influxdb", ["a", "b"]);
    expect(payloads(spool.peek("influxdb", 10))).toStrictEqual(["a", "b", "c", "d"]);
  });

  test("evict(1) removes the globally oldest item", () => {
    spool.append("mqtt", ["xx"]);
    spool.append("influxdb", ["a"]);
    expect(spool.evict(1)).toStrictEqual([{ destination: "mqtt", items: 1, bytes: 2 }]);
    expect(spool.evict(1)).toStrictEqual([{ destination: "influxdb", items: 1, bytes: 1 }]);
    expect(spool.evict(1)).toStrictEqual([]);
  });

  test("evict frees at least the requested bytes from the oldest items across destinations", () => {
    spool.append("influxdb", ["aa"]);
    spool.append("mqtt", ["xx", "yy"]);
    spool.append("influxdb", ["bb"]);
    expect(spool.evict(3)).toStrictEqual([
      { destination: "influxdb", items: 1, bytes: 2 },
      { destination: "mqtt", items: 1, bytes: 2 },
    ]);
    expect({
      influx: payloads(spool.peek("influxdb", 9)),
      mqtt: payloads(spool.peek("mqtt", 9)),
    }).toStrictEqual({
      influx: ["bb"],
      mqtt: ["yy"],
    });
    expect(spool.totalBytes()).toBe(4);
  });

  test("items, counts and order survive closing and reopening the file", () => {
    spool.append("influxdb", ["b", "c"]);
    spool.prepend("influxdb", ["a"]);
    spool.close();
    spool = open();
    expect({ items: payloads(spool.peek("influxdb", 10)), bytes: spool.totalBytes() }).toStrictEqual({
      items: ["a", "b", "c"],
      bytes: 3,
    });
  });

  test("appends after a reopen sort after the older items", () => {
    spool.append("influxdb", ["a"]);
    spool.close();
    spool = open();
    spool.append("influxdb", ["b"]);
    expect(payloads(spool.peek("influxdb", 10))).toStrictEqual(["a", "b"]);
  });
});

describe("openSpool", () => {
  test("a file that is not a database is moved aside, logged, and an empty spool starts (reference §9)", () => {
    const path = join(dir, "garbage.sqlite");
    writeFileSync(path, "this is not sqlite ".repeat(100));
    const lines: string[] = [];
    const log = createLogger({ level: "error", write: (line) => lines.push(line) });
    const opened = openSpool(path, log, () => Date.UTC(2026, 0, 2, 3, 4, 5));
    expect(opened?.count("influxdb")).toBe(0);
    opened?.close();
    expect(lines.length).toBe(1);
    expect(lines[0]).toContain(`[outbox] spool file ${path} is not a sound sqlite database`);
    expect(readFileSync(`${path}.bad-20260102T030405Z`, "utf8")).toStartWith("this is not sqlite");
  });

  test("creates the folder of the spool file when it does not exist", () => {
    const path = join(dir, "missing", "dir", "outbox.sqlite");
    const opened = openSpool(path, silentLogger);
    opened?.append("mqtt", ["a"]);
    opened?.close();
    expect(existsSync(path)).toBe(true);
  });

  test("a second open of the same file fails, naming the file", () => {
    const path = join(dir, "outbox.sqlite");
    expect(() => openSpool(path, silentLogger)).toThrow(`${path} is in use by another sense-events process`);
  });

  test("a path that cannot be created gives null and one error line", () => {
    writeFileSync(join(dir, "file"), "");
    const lines: string[] = [];
    const log = createLogger({ level: "error", write: (line) => lines.push(line) });
    expect(openSpool(join(dir, "file", "outbox.sqlite"), log)).toBeNull();
    expect(lines.length).toBe(1);
    expect(lines[0]).toContain("error: [outbox] cannot");
  });
});
