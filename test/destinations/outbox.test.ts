import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Destination, SendResult } from "../../src/destinations/destination.ts";
import {
  createOutbox,
  type Outbox,
  type OutboxOptions,
  type OutboxTimers,
} from "../../src/destinations/outbox.ts";
import type { Spool } from "../../src/destinations/spool.ts";
import { openSpool } from "../../src/destinations/spool-file.ts";
import { createLogger, silentLogger } from "../../src/log.ts";
import { testDestinationContract } from "../support/destination-contract.ts";
import { waitFor } from "../support/wait.ts";

/** A destination test double: answers each `send` with the next scripted result (ok when the script is empty). */
function scripted(
  name: string,
  script: (SendResult | Promise<SendResult>)[] = [],
  limits: Partial<Pick<Destination, "maxBatchItems" | "maxBatchBytes" | "flushIntervalMs">> = {},
) {
  const batches: string[][] = [];
  const delivered: string[] = [];
  let closed = 0;
  const destination: Destination = {
    name,
    maxBatchItems: limits.maxBatchItems ?? 100,
    maxBatchBytes: limits.maxBatchBytes ?? Number.POSITIVE_INFINITY,
    flushIntervalMs: limits.flushIntervalMs ?? 0,
    serialize: (event) => [String(event.event.id)],
    send: async (items) => {
      batches.push([...items]);
      const result = await (script.shift() ?? { kind: "ok" });
      if (result.kind === "ok") delivered.push(...items);
      return result;
    },
    close: async () => {
      closed++;
    },
  };
  return { destination, batches, delivered, closed: () => closed };
}

/** A result that never arrives: the destination is stuck with one request in flight. */
const never = new Promise<SendResult>(() => {});

/** Timers on a virtual clock; `advance` runs what falls due and lets the sends settle. */
function manualTimers(start = Date.UTC(2026, 0, 1)) {
  let now = start;
  let nextId = 0;
  const pending = new Map<number, { at: number; fn: () => void }>();
  const delays: number[] = [];
  const settle = async () => {
    for (let i = 0; i < 3; i++) await new Promise((resolve) => setImmediate(resolve));
  };
  const timers: OutboxTimers & { now: () => number; delays: number[]; advance(ms: number): Promise<void> } = {
    now: () => now,
    delays,
    set(fn, ms) {
      delays.push(ms);
      pending.set(++nextId, { at: now + ms, fn });
      return nextId;
    },
    clear(handle) {
      pending.delete(handle as number);
    },
    async advance(ms) {
      const target = now + ms;
      for (;;) {
        await settle();
        let due: [number, { at: number; fn: () => void }] | undefined;
        for (const entry of pending)
          if (entry[1].at <= target && (!due || entry[1].at < due[1].at)) due = entry;
        if (!due) break;
        pending.delete(due[0]);
        now = Math.max(now, due[1].at);
        due[1].fn();
      }
      now = target;
      await settle();
    },
  };
  return timers;
}

function capturingLog() {
  const lines: { level: string; msg: string }[] = [];
  const log = createLogger({ level: "debug", format: "json", write: (line) => lines.push(JSON.parse(line)) });
  return { log, lines };
}

const numbers = (from: number, to: number) =>
  Array.from({ length: to - from + 1 }, (_, i) => String(from + i));

/** Waits (polling) until `condition` holds. */
function until(condition: () => boolean): Promise<true> {
  return waitFor("the outbox condition", () => condition(), 5000, 5);
}

let dir: string;
let spools: Spool[];
let outboxes: Outbox[];

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "outbox-test-"));
  spools = [];
  outboxes = [];
});

afterEach(async () => {
  for (const outbox of outboxes) await outbox.close();
  for (const spool of spools) {
    try {
      spool.close();
    } catch {}
  }
  rmSync(dir, { recursive: true, force: true });
});

function spoolFile(): Spool {
  const spool = openSpool(join(dir, "outbox.sqlite"), silentLogger);
  if (!spool) throw new Error("spool did not open");
  spools.push(spool);
  return spool;
}

function outbox(options: Partial<OutboxOptions> = {}): Outbox {
  const created = createOutbox({ spool: null, log: silentLogger, ...options });
  outboxes.push(created);
  return created;
}

describe("batching and order", () => {
  test("delivers in enqueue order in batches of at most maxBatchItems", async () => {
    const timers = manualTimers();
    const d = scripted("influxdb", [], { maxBatchItems: 3 });
    const box = outbox({ timers, now: timers.now });
    box.attach(d.destination);
    box.enqueue("influxdb", numbers(1, 4));
    box.enqueue("influxdb", numbers(5, 7));
    await timers.advance(0);
    expect(d.batches).toStrictEqual([numbers(1, 3), numbers(4, 6), ["7"]]);
  });

  test("a batch never exceeds maxBatchBytes unless it is a single item", async () => {
    const timers = manualTimers();
    const d = scripted("influxdb", [], { maxBatchItems: 10, maxBatchBytes: 10 });
    const box = outbox({ timers, now: timers.now });
    box.attach(d.destination);
    box.enqueue("influxdb", ["aaaa", "bbbb", "cccc", "dddddddddddd", "e"]);
    await timers.advance(0);
    expect(d.batches).toStrictEqual([["aaaa", "bbbb"], ["cccc"], ["dddddddddddd"], ["e"]]);
  });

  test("a partial batch waits flushIntervalMs after its oldest item", async () => {
    const timers = manualTimers();
    const d = scripted("influxdb", [], { maxBatchItems: 3, flushIntervalMs: 1000 });
    const box = outbox({ timers, now: timers.now });
    box.attach(d.destination);
    box.enqueue("influxdb", ["1"]);
    await timers.advance(600);
    box.enqueue("influxdb", ["2"]);
    await timers.advance(399);
    expect(d.batches).toStrictEqual([]);
    await timers.advance(1);
    expect(d.batches).toStrictEqual([["1", "2"]]);
  });

  test("a full batch is sent without waiting for the flush interval", async () => {
    const timers = manualTimers();
    const d = scripted("influxdb", [], { maxBatchItems: 3, flushIntervalMs: 60_000 });
    const box = outbox({ timers, now: timers.now });
    box.attach(d.destination);
    box.enqueue("influxdb", numbers(1, 3));
    await timers.advance(0);
    expect(d.batches).toStrictEqual([numbers(1, 3)]);
  });

  test("keeps enqueue order across memory → spool → memory", async () => {
    const d = scripted("influxdb", [{ kind: "retry", error: "down", retryAfterMs: 0 }], { maxBatchItems: 4 });
    const box = outbox({ spool: spoolFile(), memoryItems: 5 });
    box.enqueue("influxdb", numbers(1, 20));
    await until(() => box.stats().influxdb?.queued.spool === 15);
    expect(box.stats().influxdb?.queued).toStrictEqual({ memory: 5, spool: 15 });
    box.attach(d.destination);
    await until(() => d.delivered.length === 20);
    box.enqueue("influxdb", numbers(21, 22));
    expect(box.stats().influxdb?.queued).toStrictEqual({ memory: 2, spool: 0 });
    await until(() => d.delivered.length === 22);
    expect(d.delivered).toStrictEqual(numbers(1, 22));
  });

  test("items enqueued while a spool backlog exists queue behind it, even with room in memory", async () => {
    let release: (result: SendResult) => void = () => {};
    const held = new Promise<SendResult>((resolve) => {
      release = resolve;
    });
    const d = scripted("influxdb", [{ kind: "ok" }, held], { maxBatchItems: 2 });
    const box = outbox({ spool: spoolFile(), memoryItems: 2 });
    box.enqueue("influxdb", numbers(1, 6));
    await until(() => box.stats().influxdb?.queued.spool === 4);
    box.attach(d.destination);
    await until(() => d.batches.length === 2);
    expect(box.stats().influxdb?.queued).toStrictEqual({ memory: 0, spool: 4 });
    box.enqueue("influxdb", numbers(7, 9));
    // Behind the backlog they wait for the next spool transaction; `spool` counts only what is on disk.
    expect(box.stats().influxdb?.queued).toStrictEqual({ memory: 3, spool: 4 });
    await until(() => box.stats().influxdb?.queued.spool === 7);
    release({ kind: "ok" });
    await until(() => d.delivered.length === 9);
    expect(d.batches).toStrictEqual([["1", "2"], ["3", "4"], ["5", "6"], ["7", "8"], ["9"]]);
  });

  test("a destination that asks for more memory (the history) keeps its backlog off the spool; the others do not", async () => {
    let releaseA: (result: SendResult) => void = () => {};
    let releaseB: (result: SendResult) => void = () => {};
    const local = scripted("history", [new Promise<SendResult>((resolve) => (releaseA = resolve))], {
      maxBatchItems: 1,
    });
    const remote = scripted("influxdb", [new Promise<SendResult>((resolve) => (releaseB = resolve))], {
      maxBatchItems: 1,
    });
    const box = outbox({ spool: spoolFile(), memoryItems: 3 });
    box.attach({ ...local.destination, memoryItems: 8 });
    box.attach(remote.destination);
    const ten = Array.from({ length: 10 }, (_, i) => String(i + 1));
    // One item each goes out at once and is answered slowly: the rest queue behind it.
    box.enqueue("history", ["0"]);
    box.enqueue("influxdb", ["0"]);
    await until(() => local.batches.length === 1 && remote.batches.length === 1);
    box.enqueue("history", ten);
    box.enqueue("influxdb", ten);
    await until(() => box.stats().influxdb?.queued.spool === 8 && box.stats().history?.queued.spool === 3);
    // Memory holds the item in flight too: 8 against 3.
    expect(box.stats().history?.queued).toStrictEqual({ memory: 8, spool: 3 });
    expect(box.stats().influxdb?.queued).toStrictEqual({ memory: 3, spool: 8 });
    releaseA({ kind: "ok" });
    releaseB({ kind: "ok" });
    await until(() => local.delivered.length === 11 && remote.delivered.length === 11);
    expect(local.delivered).toStrictEqual(["0", ...ten]);
    expect(remote.delivered).toStrictEqual(["0", ...ten]);
  });

  test("each destination has its own queue: a stuck one does not hold up another", async () => {
    const stuck = scripted("newrelic:a", [never]);
    const healthy = scripted("newrelic:b");
    const box = outbox();
    box.attach(stuck.destination);
    box.attach(healthy.destination);
    box.enqueue("newrelic:a", ["a1"]);
    box.enqueue("newrelic:b", ["b1", "b2"]);
    await until(() => healthy.delivered.length === 2);
    expect(box.stats()["newrelic:a"]?.queued).toStrictEqual({ memory: 1, spool: 0 });
  });
});

describe("send results", () => {
  test("retry keeps the items, honours Retry-After and counts the retry", async () => {
    const timers = manualTimers();
    const d = scripted("influxdb", [
      { kind: "retry", error: "[influxdb] write failed: 503", retryAfterMs: 7000 },
    ]);
    const box = outbox({ timers, now: timers.now });
    box.attach(d.destination);
    box.enqueue("influxdb", ["a", "b"]);
    await timers.advance(0);
    expect(box.stats().influxdb).toStrictEqual({
      state: "retrying",
      queued: { memory: 2, spool: 0 },
      enqueued: 2,
      sent: 0,
      retries: 1,
      dropped: { overflow: 0, rejected: 0, cardinality: 0, spool_lost: 0 },
      lastError: "[influxdb] write failed: 503",
      lastSuccessAt: null,
    });
    await timers.advance(6999);
    expect(d.batches.length).toBe(1);
    await timers.advance(1);
    expect(d.delivered).toStrictEqual(["a", "b"]);
  });

  test("a Retry-After beyond 300 s is capped at 300 s", async () => {
    const timers = manualTimers();
    const d = scripted("influxdb", [{ kind: "retry", error: "429", retryAfterMs: 3_600_000 }]);
    const box = outbox({ timers, now: timers.now });
    box.attach(d.destination);
    box.enqueue("influxdb", ["a"]);
    await timers.advance(300_000);
    expect(d.delivered).toStrictEqual(["a"]);
  });

  test("backs off exponentially without Retry-After and resets after a success", async () => {
    const timers = manualTimers();
    const fail: SendResult = { kind: "retry", error: "ECONNREFUSED" };
    const d = scripted("influxdb", [fail, fail, fail, { kind: "ok" }, fail]);
    const box = outbox({ timers, now: timers.now, random: () => 1 });
    box.attach(d.destination);
    box.enqueue("influxdb", ["a"]);
    await timers.advance(10_000);
    box.enqueue("influxdb", ["b"]);
    await timers.advance(0);
    expect(timers.delays).toStrictEqual([0, 1000, 2000, 4000, 0, 1000]);
  });

  test("a successful send records sent, lastSuccessAt and state up", async () => {
    const timers = manualTimers();
    const d = scripted("influxdb", [{ kind: "retry", error: "503" }]);
    const box = outbox({ timers, now: timers.now, random: () => 1 });
    box.attach(d.destination);
    box.enqueue("influxdb", ["a", "b", "c"]);
    await timers.advance(1000);
    expect(box.stats().influxdb).toStrictEqual({
      state: "up",
      queued: { memory: 0, spool: 0 },
      enqueued: 3,
      sent: 3,
      retries: 1,
      dropped: { overflow: 0, rejected: 0, cardinality: 0, spool_lost: 0 },
      lastError: "503",
      lastSuccessAt: new Date(Date.UTC(2026, 0, 1) + 1000).toISOString(),
    });
  });

  test("blocked keeps the items, shows state blocked and logs one error per outage", async () => {
    const timers = manualTimers();
    const { log, lines } = capturingLog();
    const blocked: SendResult = { kind: "blocked", error: "[influxdb] write failed: 401" };
    const d = scripted("influxdb", [blocked, blocked, blocked]);
    const box = outbox({ timers, now: timers.now, log, random: () => 1 });
    box.attach(d.destination);
    box.enqueue("influxdb", ["a"]);
    await timers.advance(3000);
    expect({ state: box.stats().influxdb?.state, batches: d.batches.length }).toStrictEqual({
      state: "blocked",
      batches: 3,
    });
    expect(lines.filter((line) => line.level === "error").length).toBe(1);
    await timers.advance(4000);
    expect({ state: box.stats().influxdb?.state, delivered: d.delivered }).toStrictEqual({
      state: "up",
      delivered: ["a"],
    });
  });

  test("too_large splits the batch in half until it fits", async () => {
    const timers = manualTimers();
    const d = scripted("newrelic:a", [{ kind: "too_large", error: "413" }]);
    const box = outbox({ timers, now: timers.now });
    box.attach(d.destination);
    box.enqueue("newrelic:a", numbers(1, 4));
    await timers.advance(0);
    expect(d.batches).toStrictEqual([numbers(1, 4), ["1", "2"], ["3", "4"]]);
    expect(box.stats()["newrelic:a"]?.sent).toBe(4);
  });

  test("a single item that is still too large is dropped as rejected", async () => {
    const timers = manualTimers();
    const tooLarge: SendResult = { kind: "too_large", error: "413 Payload Too Large" };
    const d = scripted("newrelic:a", [tooLarge, tooLarge]);
    const box = outbox({ timers, now: timers.now });
    box.attach(d.destination);
    box.enqueue("newrelic:a", ["huge", "small"]);
    await timers.advance(0);
    expect(d.batches).toStrictEqual([["huge", "small"], ["huge"], ["small"]]);
    expect(box.stats()["newrelic:a"]?.dropped).toStrictEqual({
      overflow: 0,
      rejected: 1,
      cardinality: 0,
      spool_lost: 0,
    });
  });

  test("rejected drops the batch, counts it and logs 512 characters of the error", async () => {
    const timers = manualTimers();
    const { log, lines } = capturingLog();
    const error = `400 ${"x".repeat(2000)}`;
    const d = scripted("influxdb", [{ kind: "rejected", error }], { maxBatchItems: 2 });
    const box = outbox({ timers, now: timers.now, log });
    box.attach(d.destination);
    box.enqueue("influxdb", ["a", "b", "c"]);
    await timers.advance(0);
    expect(d.delivered).toStrictEqual(["c"]);
    expect(box.stats().influxdb?.dropped).toStrictEqual({
      overflow: 0,
      rejected: 2,
      cardinality: 0,
      spool_lost: 0,
    });
    const logged = lines.find((line) => line.level === "error")?.msg ?? "";
    expect(logged.endsWith(error.slice(0, 512))).toBe(true);
    expect(logged).not.toContain(error.slice(0, 513));
  });

  test("a send that throws is treated as a retry", async () => {
    const timers = manualTimers();
    const d = scripted("mqtt");
    const send = d.destination.send;
    let calls = 0;
    const throwing: Destination = {
      ...d.destination,
      send: (items) => (calls++ === 0 ? Promise.reject(new Error("boom")) : send(items)),
    };
    const box = outbox({ timers, now: timers.now, random: () => 1 });
    box.attach(throwing);
    box.enqueue("mqtt", ["a"]);
    await timers.advance(0);
    expect({ state: box.stats().mqtt?.state, lastError: box.stats().mqtt?.lastError }).toStrictEqual({
      state: "retrying",
      lastError: "send threw: boom",
    });
    await timers.advance(1000);
    expect(d.delivered).toStrictEqual(["a"]);
  });
});

describe("bounds", () => {
  test("without a spool a full memory queue evicts its oldest item as overflow", async () => {
    const d = scripted("influxdb");
    const box = outbox({ memoryItems: 3 });
    box.enqueue("influxdb", numbers(1, 5));
    box.attach(d.destination);
    await until(() => d.delivered.length === 3);
    expect({ delivered: d.delivered, dropped: box.stats().influxdb?.dropped }).toStrictEqual({
      delivered: ["3", "4", "5"],
      dropped: { overflow: 2, rejected: 0, cardinality: 0, spool_lost: 0 },
    });
  });

  test("without a spool maxBytes evicts the globally oldest item from memory", async () => {
    const box = outbox({ maxBytes: 6 });
    box.enqueue("influxdb", ["aa"]);
    box.enqueue("mqtt", ["bb", "cc"]);
    box.enqueue("influxdb", ["dd"]);
    expect({
      bytes: box.totalBytes,
      influxdb: box.stats().influxdb?.dropped,
      mqtt: box.stats().mqtt?.dropped,
      queued: [box.stats().influxdb?.queued.memory, box.stats().mqtt?.queued.memory],
    }).toStrictEqual({
      bytes: 6,
      influxdb: { overflow: 1, rejected: 0, cardinality: 0, spool_lost: 0 },
      mqtt: { overflow: 0, rejected: 0, cardinality: 0, spool_lost: 0 },
      queued: [1, 2],
    });
  });

  test("with a spool maxBytes evicts the oldest spooled items as overflow", async () => {
    const d = scripted("influxdb");
    const box = outbox({ spool: spoolFile(), memoryItems: 2, maxBytes: 10 });
    box.enqueue("influxdb", ["01", "02", "03", "04", "05", "06", "07", "08", "09", "10"]);
    await until(() => box.totalBytes <= 10);
    box.attach(d.destination);
    await until(() => d.delivered.length === 5);
    expect({ delivered: d.delivered, dropped: box.stats().influxdb?.dropped }).toStrictEqual({
      delivered: ["01", "02", "08", "09", "10"],
      dropped: { overflow: 5, rejected: 0, cardinality: 0, spool_lost: 0 },
    });
  });

  test("enqueue never waits: 100k items while the destination is stuck", async () => {
    const d = scripted("influxdb", [never], { maxBatchItems: 1000 });
    const box = outbox({ spool: spoolFile() });
    box.attach(d.destination);
    for (let i = 0; i < 100_000; i++) box.enqueue("influxdb", [`user_events,host=h${i} n=1i`]);
    const queued = box.stats().influxdb?.queued;
    expect((queued?.memory ?? 0) + (queued?.spool ?? 0)).toBe(100_000);
    await until(() => (spools[0]?.count("influxdb") ?? 0) >= 90_000);
  });
});

describe("write-through (reference §9.2)", () => {
  test("a send answered after 1.5 s keeps new items in memory; one pending past 5 s writes them through", async () => {
    const timers = manualTimers();
    let answer: (result: SendResult) => void = () => {};
    const slow = new Promise<SendResult>((resolve) => {
      answer = resolve;
    });
    const d = scripted("influxdb", [slow, never], { maxBatchItems: 10 });
    const box = outbox({ spool: spoolFile(), timers, now: timers.now });
    box.attach(d.destination);
    box.enqueue("influxdb", numbers(1, 10));
    await timers.advance(0);
    box.enqueue("influxdb", numbers(11, 20));
    await timers.advance(1500);
    expect(box.stats().influxdb?.queued).toStrictEqual({ memory: 20, spool: 0 });
    answer({ kind: "ok" });
    await timers.advance(4900);
    expect(d.batches).toStrictEqual([numbers(1, 10), numbers(11, 20)]);
    box.enqueue("influxdb", numbers(21, 25));
    await timers.advance(50);
    expect(box.stats().influxdb?.queued).toStrictEqual({ memory: 15, spool: 0 });
    // 5 s after the second send began it counts as hanging: items not in flight go to disk.
    await timers.advance(150);
    expect(box.stats().influxdb?.queued).toStrictEqual({ memory: 10, spool: 5 });
    box.enqueue("influxdb", ["26"]);
    await timers.advance(50);
    expect(box.stats().influxdb?.queued).toStrictEqual({ memory: 10, spool: 6 });
  });

  /** A lane that failed once (so 1–10 went to disk) and delivers again, with 5–8 in flight and 11–13 enqueued after. */
  async function recovered(third: SendResult | Promise<SendResult>) {
    const timers = manualTimers();
    const d = scripted(
      "influxdb",
      [{ kind: "retry", error: "503", retryAfterMs: 1000 }, { kind: "ok" }, third],
      {
        maxBatchItems: 4,
      },
    );
    const spool = spoolFile();
    const box = outbox({ spool, timers, now: timers.now });
    box.attach(d.destination);
    box.enqueue("influxdb", numbers(1, 10));
    await timers.advance(50);
    expect(box.stats().influxdb?.queued).toStrictEqual({ memory: 0, spool: 10 });
    await timers.advance(1000);
    expect(d.batches).toStrictEqual([numbers(1, 4), numbers(1, 4), numbers(5, 8)]);
    box.enqueue("influxdb", numbers(11, 13));
    await timers.advance(100);
    return { timers, d, spool, box };
  }

  test("once the destination delivers again, new items wait in memory behind the spool and arrive in order", async () => {
    let answer: (result: SendResult) => void = () => {};
    const held = new Promise<SendResult>((resolve) => {
      answer = resolve;
    });
    const { timers, d, box } = await recovered(held);
    expect(box.stats().influxdb?.queued).toStrictEqual({ memory: 3, spool: 6 });
    answer({ kind: "ok" });
    await timers.advance(100);
    expect(d.batches.slice(3)).toStrictEqual([["9", "10"], numbers(11, 13)]);
    expect(d.delivered).toStrictEqual(numbers(1, 13));
  });

  test("a new failure sends the items waiting in memory behind the spool to disk, after it", async () => {
    const { timers, spool, box } = await recovered({ kind: "retry", error: "503", retryAfterMs: 60_000 });
    await timers.advance(50);
    expect(box.stats().influxdb?.queued).toStrictEqual({ memory: 0, spool: 9 });
    expect(spool.peek("influxdb", 20).map((row) => row.payload)).toStrictEqual(numbers(5, 13));
  });

  test("shutdown spools the items waiting in memory behind the spool, after it", async () => {
    const { timers, spool, box } = await recovered(never);
    const flushed = box.flush(1000);
    await timers.advance(1000);
    expect(await flushed).toStrictEqual({ lost: 0 });
    expect(spool.peek("influxdb", 20).map((row) => row.payload)).toStrictEqual(numbers(5, 13));
  });
});

describe("restart and shutdown", () => {
  test("spooled items survive a restart and are delivered in order", async () => {
    const first = createOutbox({ spool: spoolFile(), memoryItems: 3, log: silentLogger });
    first.enqueue("influxdb", numbers(1, 8));
    await first.close();
    const d = scripted("influxdb", [], { maxBatchItems: 3 });
    const second = outbox({ spool: spoolFile(), memoryItems: 3 });
    expect(second.stats().influxdb?.queued).toStrictEqual({ memory: 0, spool: 8 });
    second.attach(d.destination);
    second.enqueue("influxdb", ["9"]);
    await until(() => d.delivered.length === 9);
    expect(d.delivered).toStrictEqual(numbers(1, 9));
  });

  test("spooled items of a destination that is not configured are kept, logged once and shown disabled", async () => {
    const first = createOutbox({ spool: spoolFile(), log: silentLogger });
    first.enqueue("newrelic:old", ["a", "b"]);
    await first.close();
    const { log, lines } = capturingLog();
    const box = outbox({ spool: spoolFile(), log, maxBytes: 1000 });
    await Bun.sleep(10);
    expect(box.stats()["newrelic:old"]).toStrictEqual({
      state: "disabled",
      queued: { memory: 0, spool: 2 },
      enqueued: 0,
      sent: 0,
      retries: 0,
      dropped: { overflow: 0, rejected: 0, cardinality: 0, spool_lost: 0 },
      lastError: null,
      lastSuccessAt: null,
    });
    expect(box.totalBytes).toBe(2);
    expect(lines.filter((line) => line.msg.includes("newrelic:old")).length).toBe(1);
  });

  test("flush delivers what it can without waiting for the flush interval", async () => {
    const d = scripted("influxdb", [], { flushIntervalMs: 60_000 });
    const box = outbox({ spool: spoolFile() });
    box.attach(d.destination);
    box.enqueue("influxdb", numbers(1, 5));
    expect(await box.flush(5000)).toStrictEqual({ lost: 0 });
    expect(d.delivered).toStrictEqual(numbers(1, 5));
  });

  test("flush spools what is left when the destination stays down", async () => {
    const timers = manualTimers();
    const d = scripted("influxdb", [{ kind: "retry", error: "503", retryAfterMs: 60_000 }]);
    const spool = spoolFile();
    const box = outbox({ spool, memoryItems: 2, timers, now: timers.now });
    box.attach(d.destination);
    box.enqueue("influxdb", numbers(1, 5));
    const flushed = box.flush(5000);
    await timers.advance(5000);
    expect(await flushed).toStrictEqual({ lost: 0 });
    expect(spool.peek("influxdb", 10).map((row) => row.payload)).toStrictEqual(numbers(1, 5));
  });

  test("flush without a spool counts what is left as lost and logs it", async () => {
    const timers = manualTimers();
    const { log, lines } = capturingLog();
    const d = scripted("influxdb", [{ kind: "retry", error: "503", retryAfterMs: 60_000 }]);
    const box = outbox({ log, timers, now: timers.now });
    box.attach(d.destination);
    box.enqueue("influxdb", numbers(1, 5));
    const flushed = box.flush(5000);
    await timers.advance(5000);
    expect(await flushed).toStrictEqual({ lost: 5 });
    expect(lines.some((line) => line.level === "error" && line.msg.includes("5 undelivered items"))).toBe(
      true,
    );
  });

  test("close closes the attached destinations", async () => {
    const d = scripted("mqtt");
    const box = createOutbox({ spool: null, log: silentLogger });
    box.attach(d.destination);
    await box.close();
    expect(d.closed()).toBe(1);
  });
});

describe("attach, detach and health", () => {
  test("a detached destination with queued items is shown as disabled", async () => {
    const timers = manualTimers();
    const d = scripted("mqtt", [{ kind: "retry", error: "offline", retryAfterMs: 60_000 }]);
    const box = outbox({ timers, now: timers.now });
    box.attach(d.destination);
    box.enqueue("mqtt", ["a"]);
    await timers.advance(0);
    box.detach("mqtt");
    await timers.advance(60_000);
    expect({
      state: box.stats().mqtt?.state,
      queued: box.stats().mqtt?.queued,
      batches: d.batches.length,
    }).toStrictEqual({ state: "disabled", queued: { memory: 1, spool: 0 }, batches: 1 });
  });

  test("a detached destination with nothing queued disappears from stats", () => {
    const box = outbox();
    box.attach(scripted("mqtt").destination);
    box.detach("mqtt");
    expect(box.stats()).toStrictEqual({});
  });

  test("re-attaching a rebuilt destination keeps the queue and retries at once", async () => {
    const timers = manualTimers();
    const old = scripted("influxdb", [{ kind: "blocked", error: "401", retryAfterMs: 60_000 }]);
    const rebuilt = scripted("influxdb");
    const box = outbox({ timers, now: timers.now });
    box.attach(old.destination);
    box.enqueue("influxdb", ["a", "b"]);
    await timers.advance(0);
    box.attach(rebuilt.destination);
    await timers.advance(0);
    expect({ delivered: rebuilt.delivered, state: box.stats().influxdb?.state }).toStrictEqual({
      delivered: ["a", "b"],
      state: "up",
    });
  });

  test("start() runs before the first send", async () => {
    const order: string[] = [];
    const d = scripted("influxdb");
    const send = d.destination.send;
    const box = outbox();
    box.attach({
      ...d.destination,
      start: async () => {
        await Bun.sleep(5);
        order.push("start");
      },
      send: (items) => {
        order.push("send");
        return send(items);
      },
    });
    box.enqueue("influxdb", ["a"]);
    await until(() => d.delivered.length === 1);
    expect(order).toStrictEqual(["start", "send"]);
  });

  test("is degraded when the configured spool could not be opened", () => {
    expect([outbox({ spoolFailed: true }).degraded, outbox().degraded]).toStrictEqual([true, false]);
  });

  test("a spool that fails at runtime degrades to memory-only and keeps delivering", async () => {
    const { log, lines } = capturingLog();
    const spool = spoolFile();
    const d = scripted("influxdb");
    const box = outbox({ spool, memoryItems: 1, log });
    spool.close();
    box.enqueue("influxdb", ["a", "b", "c"]);
    await until(() => box.degraded);
    box.attach(d.destination);
    await until(() => d.delivered.length === 3);
    expect(d.delivered).toStrictEqual(["a", "b", "c"]);
    expect(lines.some((line) => line.level === "error" && line.msg.includes("spool failed"))).toBe(true);
  });
});

/**
 * A minimal JSON-lines-over-HTTP destination, used only to check that the shared contract suite
 * can fail and pass: it classifies failures the way real destinations must.
 */
function httpLinesDestination(url: string): Destination {
  return {
    name: "reference",
    maxBatchItems: 100,
    maxBatchBytes: 1_000_000,
    flushIntervalMs: 0,
    serialize: (event) => [JSON.stringify({ id: event.event.id, action: event.event.action })],
    send: async (items) => {
      try {
        const response = await fetch(url, { method: "POST", body: items.join("\n") });
        if (response.ok) return { kind: "ok" };
        return {
          kind: response.status >= 500 ? "retry" : "rejected",
          error: `[reference] ${response.status}`,
        };
      } catch (error) {
        return { kind: "retry", error: `[reference] ${(error as Error).message}` };
      }
    },
    close: async () => {},
  };
}

testDestinationContract("reference HTTP", async () => {
  const lines: string[] = [];
  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    fetch: async (request) => {
      lines.push(...(await request.text()).split("\n"));
      return new Response(null, { status: 204 });
    },
  });
  let running = true;
  const stop = async () => {
    if (running) await server.stop(true);
    running = false;
  };
  return {
    destination: httpLinesDestination(`http://127.0.0.1:${server.port}/write`),
    received: async () => [...lines],
    stopReceiver: stop,
    cleanup: stop,
  };
});
