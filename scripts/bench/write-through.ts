/**
 * Cost of write-through (reference §9): enqueues InfluxDB lines at a steady rate into an outbox with a
 * real sqlite spool, once with a destination that delivers (items stay in memory) and once with one
 * that is down (every item is written through to the spool in batched transactions). Prints one JSON
 * object: main-thread CPU µs per event, and for write-through the spool size and how long after the last
 * enqueue everything was on disk. Senders sleep between 5 ms ticks, never spin.
 *
 * A third case is a destination that delivers slowly (each batch of up to 5000 answered after
 * `--slow-ms`, 1500) at `--slow-rate` (3000/s, below its capacity of 3333/s) for `--slow-seconds` (10):
 * the most items seen in the spool (sampled every tick; write-through would put them there), CPU µs per
 * event and how long after the last enqueue everything was sent.
 *
 *   bun scripts/bench/write-through.ts [--rate 40000] [--events 200000] [--slow-ms 1500]
 *                                      [--slow-rate 3000] [--slow-seconds 10]
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import type { Destination, SendResult } from "../../src/destinations/destination.ts";
import { influxDestination } from "../../src/destinations/influxdb.ts";
import { createOutbox } from "../../src/destinations/outbox.ts";
import { openSpool } from "../../src/destinations/spool-file.ts";
import { silentLogger } from "../../src/log.ts";
import { deliverable, e2Event, e6Event } from "../../test/support/events.ts";

const { values: args } = parseArgs({
  options: {
    rate: { type: "string", default: "40000" },
    events: { type: "string", default: "200000" },
    "slow-ms": { type: "string", default: "1500" },
    "slow-rate": { type: "string", default: "3000" },
    "slow-seconds": { type: "string", default: "10" },
  },
});
const slowMs = Number(args["slow-ms"]);

const serializer = influxDestination({
  version: 1,
  host: "127.0.0.1",
  port: 1,
  useHttps: false,
  maxBatchSize: 1000,
  flushIntervalMs: 1000,
  v1: {
    dbName: "x",
    auth: { enable: false, username: "", password: "" },
    retentionPolicy: { name: "", duration: "" },
  },
  uaTagPrefix: "qs_",
  tags: [],
  log: silentLogger,
});
const lines = [e2Event(), e6Event()].flatMap((event) => serializer.serialize(deliverable(event)));

function cpuMicros(): number {
  const usage = process.cpuUsage();
  return usage.user + usage.system;
}

async function run(mode: "healthy" | "down" | "slow", rate: number, total: number) {
  const down = mode === "down";
  const dir = mkdtempSync(join(tmpdir(), "sense-events-bench-wt-"));
  const spool = openSpool(join(dir, "outbox.sqlite"), silentLogger);
  const outbox = createOutbox({ spool, log: silentLogger });
  const result: SendResult = down ? { kind: "retry", error: "down" } : { kind: "ok" };
  const destination: Destination = {
    name: "influxdb",
    maxBatchItems: mode === "slow" ? 5000 : 1000,
    maxBatchBytes: 8 * 1024 * 1024,
    flushIntervalMs: 1000,
    serialize: () => [],
    send: async () => {
      if (mode === "slow") await Bun.sleep(slowMs);
      return result;
    },
    close: async () => {},
  };
  outbox.attach(destination);
  // Down: the first failed attempt turns write-through on before the measured enqueues.
  if (down) {
    outbox.enqueue("influxdb", [lines[0] as string]);
    while (outbox.stats().influxdb?.state === "up") await Bun.sleep(10);
  }
  const cpu0 = cpuMicros();
  const t0 = performance.now();
  let enqueued = 0;
  let maxSpooled = 0;
  while (enqueued < total) {
    const due = Math.min(total, Math.floor(((performance.now() - t0) / 1000) * rate));
    for (; enqueued < due; enqueued++) outbox.enqueue("influxdb", [lines[enqueued & 1] as string]);
    maxSpooled = Math.max(maxSpooled, outbox.stats().influxdb?.queued.spool ?? 0);
    await Bun.sleep(5);
  }
  const lastEnqueue = performance.now();
  const expected = down ? total + 1 : 0;
  const settled = () => {
    const s = outbox.stats().influxdb;
    return down ? s?.queued.spool === expected : s?.sent === total;
  };
  while (!settled()) {
    maxSpooled = Math.max(maxSpooled, outbox.stats().influxdb?.queued.spool ?? 0);
    await Bun.sleep(5);
  }
  const figures = {
    cpuUsPerEvent: Number(((cpuMicros() - cpu0) / total).toFixed(3)),
    msToDisk: down ? Math.round(performance.now() - lastEnqueue) : 0,
    msToSent: down ? 0 : Math.round(performance.now() - lastEnqueue),
    maxSpooled,
    spoolMiB: Number(((spool?.fileBytes() ?? 0) / 1048576).toFixed(1)),
  };
  await outbox.close();
  rmSync(dir, { recursive: true, force: true });
  return figures;
}

const rate = Number(args.rate);
const total = Number(args.events);
const healthy = await run("healthy", rate, total);
const writeThrough = await run("down", rate, total);
const slowRate = Number(args["slow-rate"]);
const slow = await run("slow", slowRate, slowRate * Number(args["slow-seconds"]));
console.log(JSON.stringify({ rate, events: total, healthy, writeThrough, slowMs, slowRate, slow }));
