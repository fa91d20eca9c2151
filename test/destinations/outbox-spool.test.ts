import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import {
  existsSync,
  mkdtempSync,
  readdirSync,
  renameSync,
  rmSync,
  truncateSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Destination, SendResult } from "../../src/destinations/destination.ts";
import { createOutbox, type Outbox } from "../../src/destinations/outbox.ts";
import { createSqliteSpool } from "../../src/destinations/spool.ts";
import { openSpool } from "../../src/destinations/spool-file.ts";
import { silentLogger } from "../../src/log.ts";

let dir: string;
let path: string;
let boxes: Outbox[];

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "outbox-spool-test-"));
  path = join(dir, "outbox.sqlite");
  boxes = [];
});

afterEach(async () => {
  for (const box of boxes) await box.close();
  rmSync(dir, { recursive: true, force: true });
});

async function until(condition: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error("condition not reached");
    await Bun.sleep(5);
  }
}

/** A destination answering with `mode()` and recording what it delivered. */
function destination(mode: () => SendResult["kind"]) {
  const delivered: string[] = [];
  const d: Destination = {
    name: "influxdb",
    maxBatchItems: 10,
    maxBatchBytes: Number.POSITIVE_INFINITY,
    flushIntervalMs: 0,
    serialize: () => [],
    send: async (items) => {
      const kind = mode();
      if (kind === "ok") {
        delivered.push(...items);
        return { kind };
      }
      return { kind: "retry", error: "down" };
    },
    close: async () => {},
  };
  return { d, delivered };
}

const items = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => `i${from + i}`);

function identity(box: Outbox): boolean {
  const s = box.stats().influxdb;
  if (!s) return false;
  const dropped = Object.values(s.dropped).reduce((a, b) => a + b, 0);
  return s.enqueued === s.sent + dropped + s.queued.memory + s.queued.spool;
}

describe("spool file watch (reference §9)", () => {
  const tamper: [string, string, () => void][] = [
    ["deleted", "was deleted", () => rmSync(path)],
    ["truncated", "was truncated to 10 bytes", () => truncateSync(path, 10)],
    [
      "replaced",
      "was replaced by another file",
      () => {
        writeFileSync(join(dir, "other"), "x");
        renameSync(join(dir, "other"), path);
      },
    ],
    [
      "corrupted",
      "was overwritten (not a sqlite header)",
      () => {
        const { openSync, writeSync, closeSync } = require("node:fs") as typeof import("node:fs");
        const fd = openSync(path, "r+");
        writeSync(fd, Buffer.from("garbage garbage!"), 0, 16, 0);
        closeSync(fd);
      },
    ],
  ];
  test.each(tamper)(
    "a %s spool is detected within seconds, counted as spool_lost, moved aside and replaced",
    async (_, problem, act) => {
      const spool = openSpool(path, silentLogger);
      const box = createOutbox({ spool, memoryItems: 2, log: silentLogger, watchMs: 50 });
      boxes.push(box);
      box.enqueue("influxdb", items(0, 10));
      await until(() => box.stats().influxdb?.queued.spool === 8);
      act();
      await until(() => box.stats().influxdb?.dropped.spool_lost === 8);
      expect(box.problems()[0]).toContain(`spool file ${path} ${problem}: 8 spooled items lost`);
      expect(box.degraded).toBe(true);
      expect(identity(box)).toBe(true);
      if (problem !== "was deleted")
        expect(readdirSync(dir).some((name) => name.startsWith("outbox.sqlite.bad-"))).toBe(true);
      // A fresh spool takes new items.
      box.enqueue("influxdb", items(10, 15));
      await until(() => box.stats().influxdb?.queued.spool === 5);
      expect(identity(box)).toBe(true);
    },
  );

  test("a drained spool file shrinks", async () => {
    let mode: SendResult["kind"] = "retry";
    const { d } = destination(() => mode);
    const spool = openSpool(path, silentLogger);
    const box = createOutbox({ spool, memoryItems: 1, log: silentLogger, watchMs: 50, backoffScale: 0.01 });
    boxes.push(box);
    box.attach(d);
    const big = "x".repeat(1000);
    for (let i = 0; i < 3000; i++) box.enqueue("influxdb", [`${big}${i}`]);
    await until(() => (spool?.fileBytes() ?? 0) > 2_000_000);
    const full = spool?.fileBytes() ?? 0;
    mode = "ok";
    await until(() => box.stats().influxdb?.sent === 3000, 20_000);
    await until(() => (spool?.fileBytes() ?? full) < full / 10, 10_000);
  });
});

describe("full disk (reference §9)", () => {
  test("delivered rows are never replayed after space returns, and ingest continues memory-only", async () => {
    let full = false;
    const faults = {
      beforeWrite() {
        if (full) throw Object.assign(new Error("database or disk is full"), { code: "SQLITE_FULL" });
      },
    };
    let mode: SendResult["kind"] = "retry";
    const first = destination(() => mode);
    const box = createOutbox({
      spool: openSpool(path, silentLogger, Date.now, faults),
      memoryItems: 1,
      log: silentLogger,
      backoffScale: 0.01,
    });
    box.attach(first.d);
    box.enqueue("influxdb", items(0, 50));
    // The first failure turns write-through on: the memory item joins the 49 spooled ones.
    await until(() => box.stats().influxdb?.queued.spool === 50);
    full = true;
    mode = "ok";
    await until(() => first.delivered.length === 50);
    // New items cannot be written: the outbox degrades to memory-only with the reason and keeps delivering.
    box.enqueue("influxdb", items(50, 60));
    await until(() => first.delivered.length === 60);
    expect(box.degraded).toBe(true);
    expect(box.problems().join()).toContain("disk is full");
    expect(identity(box)).toBe(true);
    await box.flush(100);
    await box.close();

    // Space returns: a restart delivers nothing twice.
    full = false;
    const again = destination(() => "ok");
    const second = createOutbox({ spool: openSpool(path, silentLogger), log: silentLogger });
    boxes.push(second);
    second.attach(again.d);
    await Bun.sleep(50);
    expect({ queued: second.stats().influxdb?.queued ?? null, delivered: again.delivered }).toStrictEqual({
      queued: { memory: 0, spool: 0 },
      delivered: [],
    });
    expect(new Set(first.delivered).size).toBe(60);
  });
});

describe("full disk, then space returns in the same run (reference §9)", () => {
  test("the spool is reopened, its kept items delivered and /health no longer degraded", async () => {
    let full = false;
    const faults = {
      beforeWrite() {
        if (full) throw Object.assign(new Error("database or disk is full"), { code: "SQLITE_FULL" });
      },
    };
    let mode: SendResult["kind"] = "retry";
    const d = destination(() => mode);
    const box = createOutbox({
      spool: openSpool(path, silentLogger, Date.now, faults),
      memoryItems: 1,
      log: silentLogger,
      backoffScale: 0.01,
      watchMs: 50,
    });
    boxes.push(box);
    box.attach(d.d);
    box.enqueue("influxdb", items(0, 20));
    await until(() => box.stats().influxdb?.queued.spool === 20);
    full = true;
    box.enqueue("influxdb", items(20, 25));
    await until(() => box.degraded);
    expect(box.stats().influxdb?.queued).toStrictEqual({ memory: 5, spool: 20 });
    expect(identity(box)).toBe(true);
    full = false;
    await until(() => !box.degraded);
    mode = "ok";
    await until(() => d.delivered.length === 25);
    expect(new Set(d.delivered).size).toBe(25);
    expect(identity(box)).toBe(true);
  });
});

describe("lock", () => {
  test("the spool folder is created and a second open of the same file throws, naming it", () => {
    const nested = join(dir, "a", "b", "outbox.sqlite");
    const spool = openSpool(nested, silentLogger);
    expect(existsSync(nested)).toBe(true);
    expect(() => openSpool(nested, silentLogger)).toThrow(nested);
    spool?.close();
    expect(openSpool(nested, silentLogger)).not.toBeNull();
  });

  test("createSqliteSpool refuses a file that fails quick_check", () => {
    writeFileSync(path, "not a database at all ".repeat(300));
    expect(() => createSqliteSpool(path)).toThrow();
  });
});

/** Mounts a tmpfs of `size` at a new folder; null when not root or mounting is not allowed here. */
function smallDisk(size: string): { dir: string; grow(to: string): void; unmount(): void } | null {
  if (process.getuid?.() !== 0 || process.platform !== "linux") return null;
  const mount = mkdtempSync(join(tmpdir(), "outbox-tmpfs-"));
  const done = Bun.spawnSync(["mount", "-t", "tmpfs", "-o", `size=${size}`, "tmpfs", mount]);
  if (done.exitCode !== 0) {
    rmSync(mount, { recursive: true, force: true });
    return null;
  }
  return {
    dir: mount,
    grow(to: string) {
      Bun.spawnSync(["mount", "-o", `remount,size=${to}`, mount]);
    },
    unmount() {
      // Lazy: a failed assertion may leave a spool open, and must not be hidden by a failing unmount.
      Bun.spawnSync(["umount", "-l", mount]);
      rmSync(mount, { recursive: true, force: true });
    },
  };
}

describe("a real full disk (tmpfs, when root can mount one)", () => {
  const disk = smallDisk("1m");
  test.skipIf(disk === null)(
    "ingest continues memory-only, degraded, and nothing is replayed after space returns",
    async () => {
      if (!disk) return;
      try {
        const file = join(disk.dir, "outbox.sqlite");
        let mode: SendResult["kind"] = "retry";
        const first = destination(() => mode);
        const box = createOutbox({
          spool: openSpool(file, silentLogger),
          memoryItems: 1,
          log: silentLogger,
          backoffScale: 0.01,
        });
        box.attach(first.d);
        const line = "y".repeat(400);
        let n = 0;
        // Write through until the disk is full.
        while (!box.degraded && n < 20_000) {
          box.enqueue(
            "influxdb",
            items(n, n + 50).map((id) => `${id} ${line}`),
          );
          n += 50;
          await Bun.sleep(5);
        }
        expect(box.problems().join()).toMatch(/full/i);
        expect(identity(box)).toBe(true);
        mode = "ok";
        await until(() => (box.stats().influxdb?.queued.memory ?? 1) === 0, 20_000);
        expect(identity(box)).toBe(true);
        await box.flush(100);
        await box.close();
        // Space returns: the items kept on disk are delivered once, and nothing already delivered again.
        disk.grow("8m");
        const again = destination(() => "ok");
        const second = createOutbox({ spool: openSpool(file, silentLogger), log: silentLogger });
        second.attach(again.d);
        expect(second.degraded).toBe(false);
        await until(() => (second.stats().influxdb?.queued.spool ?? 0) === 0, 20_000);
        await second.close();
        const all = [...first.delivered, ...again.delivered];
        expect(new Set(all).size).toBe(all.length);
        const s = box.stats().influxdb;
        expect(new Set(all).size + (s?.dropped.overflow ?? 0)).toBe(n);
      } finally {
        disk.unmount();
      }
    },
  );
});
