import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { partialWrite } from "../../src/destinations/influx-partial.ts";
import { influxDestination } from "../../src/destinations/influxdb.ts";
import { createOutbox } from "../../src/destinations/outbox.ts";
import { createLogger, silentLogger } from "../../src/log.ts";
import { type InfluxServer, startInfluxdb } from "../support/influxdb.ts";

let influx: InfluxServer;

async function waitUntil(condition: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error("condition not reached");
    await Bun.sleep(10);
  }
}

beforeAll(async () => {
  // A small max-values-per-tag makes the cardinality limit reachable with a handful of points.
  influx = await startInfluxdb({ maxValuesPerTag: 3 });
});

afterAll(async () => {
  await influx?.close();
});

function destination(db: string) {
  return influxDestination({
    version: 1,
    host: "127.0.0.1",
    port: influx.port,
    useHttps: false,
    maxBatchSize: 100,
    flushIntervalMs: 1,
    v1: {
      dbName: db,
      auth: { enable: false, username: "", password: "" },
      retentionPolicy: { name: "", duration: "" },
    },
    uaTagPrefix: "qs_",
    tags: [],
    log: silentLogger,
  });
}

describe("InfluxDB partial writes (reference §9)", () => {
  test("a field type conflict drops only the conflicting point, as InfluxDB reports", async () => {
    await influx.query("CREATE DATABASE partial", "");
    const d = destination("partial");
    expect(await d.send(["m f=1i 1"])).toStrictEqual({ kind: "ok" });
    const result = await d.send(["m f=2i 2", 'm f="text" 3', "m f=3i 4"]);
    expect(result).toMatchObject({ kind: "partial", dropped: 1, reason: "rejected" });
    await d.close();
  });

  test("the outbox counts the delivered points as sent and only the refused ones as rejected", async () => {
    await influx.query("CREATE DATABASE partial_outbox", "");
    const box = createOutbox({ spool: null, log: silentLogger });
    box.attach(destination("partial_outbox"));
    box.enqueue("influxdb", ["m f=1i 1"]);
    await waitUntil(() => (box.stats().influxdb?.queued.memory ?? 1) === 0);
    box.enqueue("influxdb", ["m f=2i 2", 'm f="text" 3', "m f=3i 4"]);
    await waitUntil(() => (box.stats().influxdb?.queued.memory ?? 1) === 0);
    const s = box.stats().influxdb;
    expect({ enqueued: s?.enqueued, sent: s?.sent, dropped: s?.dropped }).toStrictEqual({
      enqueued: 4,
      sent: 3,
      dropped: { overflow: 0, rejected: 1, cardinality: 0, spool_lost: 0 },
    });
    await box.close();
  });

  test("max-values-per-tag refusals count as cardinality and are explained once", async () => {
    await influx.query("CREATE DATABASE card_limit", "");
    const lines: { level: string; msg: string }[] = [];
    const log = createLogger({
      level: "info",
      format: "json",
      write: (line) => lines.push(JSON.parse(line)),
    });
    const box = createOutbox({ spool: null, log });
    box.attach(destination("card_limit"));
    const batch = (from: number) =>
      Array.from({ length: 5 }, (_, i) => `user_events,userId=u${from + i} n=1i ${from + i}`);
    box.enqueue("influxdb", batch(0));
    await waitUntil(() => (box.stats().influxdb?.queued.memory ?? 1) === 0);
    box.enqueue("influxdb", batch(5));
    await waitUntil(() => (box.stats().influxdb?.queued.memory ?? 1) === 0);
    const s = box.stats().influxdb;
    expect({ enqueued: s?.enqueued, sent: s?.sent, dropped: s?.dropped }).toStrictEqual({
      // InfluxDB checks the limit against the series that existed before the write: the first batch passes.
      enqueued: 10,
      sent: 5,
      dropped: { overflow: 0, rejected: 0, cardinality: 5, spool_lost: 0 },
    });
    const warnings = lines.filter((line) => line.msg.includes("max-values-per-tag"));
    expect(warnings.length).toBe(1);
    expect(warnings[0]?.msg).toContain("userTags: false");
    await box.close();
  });

  test("a 400 without 'partial write' stays a whole-batch rejection", () => {
    const rejected = { kind: "rejected", error: "[influxdb] write failed: 400 unable to parse" } as const;
    expect(partialWrite(rejected, 3)).toStrictEqual(rejected);
  });
});
