/**
 * End-to-end delivery throughput of the outbox with the real InfluxDB 1.x and MQTT destinations, in process:
 * enqueues N events at a fixed rate (serialising each as the pipeline does), waits until the outbox has sent
 * everything, then checks that every line is stored (`SELECT count`) and every publish arrived (a subscriber
 * in its own process). Reports delivered events/s and main-thread CPU µs per event.
 *
 *   bun scripts/bench/delivery.ts [--rates 20000,40000] [--events 200000] [--qos 0] [--batch 1000] [--no-spool]
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import type { Destination } from "../../src/destinations/destination.ts";
import { influxDestination } from "../../src/destinations/influxdb.ts";
import { mqttDestination } from "../../src/destinations/mqtt.ts";
import { createOutbox } from "../../src/destinations/outbox.ts";
import { openSpool } from "../../src/destinations/spool-file.ts";
import type { DeliverableEvent } from "../../src/events/event.ts";
import { silentLogger } from "../../src/log.ts";
import { deliverable, e2Event, e5Event, e6Event } from "../../test/support/events.ts";
import { startInfluxdb } from "../../test/support/influxdb.ts";
import { startMosquitto } from "../../test/support/mosquitto.ts";
import { countUserEvents } from "./influx.ts";

const { values: args } = parseArgs({
  options: {
    rates: { type: "string", default: "20000,40000" },
    events: { type: "string", default: "200000" },
    qos: { type: "string", default: "0" },
    batch: { type: "string", default: "1000" },
    "no-spool": { type: "boolean", default: false },
    only: { type: "string", default: "" },
    "memory-items": { type: "string", default: "10000" },
  },
});
const rates = (args.rates as string).split(",").map(Number);
const total = Number(args.events);
const qos = Number(args.qos) as 0 | 1 | 2;
const influxBatch = Number(args.batch);

const [influx, broker] = await Promise.all([startInfluxdb(), startMosquitto()]);
const counter = Bun.spawn(
  [process.execPath, join(import.meta.dir, "mqtt-counter.ts"), broker.url, "qliksense/userevent/#"],
  { stdout: "pipe", stderr: "inherit" },
);
const reader = counter.stdout.getReader();
const first = new TextDecoder().decode((await reader.read()).value);
const counterUrl = `http://127.0.0.1:${(JSON.parse(first.split("\n")[0] as string) as { httpPort: number }).httpPort}`;
const mqttReceived = async (): Promise<number> =>
  ((await (await fetch(counterUrl)).json()) as { received: number }).received;

const bases = [
  e2Event(),
  e5Event(),
  e6Event(),
  { ...e6Event(), action: "Start session", message: "Start" },
].map((event) => deliverable(event));
/** Event i with a unique nanosecond timestamp (an hour ago plus i ns), so InfluxDB keeps every point. */
function eventAt(i: number, baseSeconds: string): DeliverableEvent {
  const base = bases[i & 3] as DeliverableEvent;
  return { ...base, timeNs: baseSeconds + String(1e9 + i).slice(1) };
}

function cpuMicros(): number {
  const usage = process.cpuUsage();
  return usage.user + usage.system;
}

async function runStep(rate: number, step: number): Promise<Record<string, number | string>> {
  const db = `bench_${step}`;
  const dir = mkdtempSync(join(tmpdir(), "sense-events-bench-delivery-"));
  const spool = args["no-spool"] ? null : openSpool(join(dir, "outbox.sqlite"), silentLogger);
  const outbox = createOutbox({ spool, memoryItems: Number(args["memory-items"]), log: silentLogger });
  const destinations: Destination[] = [
    influxDestination({
      version: 1,
      host: "127.0.0.1",
      port: influx.port,
      useHttps: false,
      maxBatchSize: influxBatch,
      flushIntervalMs: 1000,
      v1: {
        dbName: db,
        auth: { enable: false, username: "", password: "" },
        retentionPolicy: { name: "autogen", duration: "" },
      },
      uaTagPrefix: "qs_",
      tags: [],
      log: silentLogger,
    }),
    mqttDestination({
      brokerHost: "127.0.0.1",
      brokerPort: broker.port,
      tls: { enable: false, rejectUnauthorized: true },
      qos,
      retain: false,
      protocolVersion: 4,
      topics: {
        everythingTopic: "qliksense/userevent",
        sessionStartTopic: "qliksense/userevent/session/start",
        sessionStopTopic: "qliksense/userevent/session/stop",
        connectionOpenTopic: "qliksense/userevent/connection/open",
        connectionCloseTopic: "qliksense/userevent/connection/close",
      },
      tags: [],
      log: silentLogger,
    }),
  ];
  if (args.only === "mqtt") destinations.shift();
  if (args.only === "influxdb") destinations.pop();
  for (const destination of destinations) outbox.attach(destination);
  await Bun.sleep(500); // database creation and MQTT connect happen on attach
  const mqttBefore = await mqttReceived();
  const baseSeconds = String(Math.floor(Date.now() / 1000) - 3600);
  const maxQueued: Record<string, number> = {};

  const cpu0 = cpuMicros();
  const t0 = performance.now();
  let enqueued = 0;
  let doneAt = 0;
  let tick = 0;
  await new Promise<void>((resolve) => {
    const timer = setInterval(() => {
      const due = Math.min(total, Math.floor(((performance.now() - t0) / 1000) * rate));
      for (; enqueued < due; enqueued++) {
        const event = eventAt(enqueued, baseSeconds);
        for (const destination of destinations)
          outbox.enqueue(destination.name, destination.serialize(event));
      }
      // Reading the stats costs CPU too: every 20 ms is enough.
      if (tick++ % 4 !== 0) return;
      let queued = 0;
      for (const [name, s] of Object.entries(outbox.stats())) {
        maxQueued[name] = Math.max(maxQueued[name] ?? 0, s.queued.memory + s.queued.spool);
        queued += s.queued.memory + s.queued.spool;
      }
      // Sent items leave the queues, and so do items evicted by the byte bound (counted as dropped).
      if (enqueued === total && queued === 0) {
        doneAt = performance.now();
        clearInterval(timer);
        resolve();
      }
    }, 5);
  });
  const cpu = cpuMicros() - cpu0;
  const seconds = (doneAt - t0) / 1000;
  const stats = outbox.stats();

  // Arrivals: InfluxDB stores synchronously on 204; MQTT QoS 0 may still be on its way to the subscriber.
  const deadline = Date.now() + 15_000;
  let stored = 0;
  let published = 0;
  while (Date.now() < deadline) {
    stored = await countUserEvents(influx.url, db);
    published = (await mqttReceived()) - mqttBefore;
    if ((stored >= total || args.only === "mqtt") && (published >= total * 2 || args.only === "influxdb"))
      break;
    await Bun.sleep(250);
  }
  await outbox.close();
  rmSync(dir, { recursive: true, force: true });
  const dropped = Object.values(stats).reduce((sum, s) => sum + s.dropped.overflow + s.dropped.rejected, 0);
  return {
    rate,
    seconds: Number(seconds.toFixed(2)),
    "events/s": Math.round(total / seconds),
    "cpu µs/event": Number((cpu / total).toFixed(2)),
    "influx stored": stored,
    "mqtt received": published,
    lost:
      (args.only === "mqtt" ? 0 : total - stored) + (args.only === "influxdb" ? 0 : total * 2 - published),
    dropped,
    "max queued influxdb": maxQueued.influxdb ?? 0,
    "max queued mqtt": maxQueued.mqtt ?? 0,
  };
}

const results: Record<string, number | string>[] = [];
try {
  for (const [step, rate] of rates.entries()) {
    const result = await runStep(rate, step);
    console.log(JSON.stringify(result));
    results.push(result);
  }
  console.table(results);
} finally {
  counter.kill();
  await counter.exited;
  await Promise.all([influx.close(), broker.close()]);
}
