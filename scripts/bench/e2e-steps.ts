/**
 * End to end into InfluxDB and MQTT at fixed rates, with the CPU of every process and thread involved (from
 * /proc): says which component saturates first. Starts InfluxDB, mosquitto, sense-events (the binary or the
 * source) and the MQTT counter, then for each rate sends `--seconds` of datagrams and reports what was
 * accepted and landed, and the CPU % per process and per thread while sending.
 *
 *   bun scripts/bench/e2e-steps.ts [--binary=dist/sense-events-linux-x64 | --source] [--rates=20000,30000,40000]
 *                                  [--seconds=5] [--history=off] [--no-influx] [--no-mqtt] [--threads]
 */
import { join, resolve } from "node:path";
import mqtt from "mqtt";
import { type AppConfig, spawnHelper, startApp } from "./app.ts";
import {
  cpuBetween,
  descendants,
  machineBusyPct,
  machineTicks,
  perProcess,
  sampleCpu,
} from "./cpu-sample.ts";
import { countUserEvents } from "./influx.ts";
import { buildCSender, send, writeDatagramFile } from "./sender.ts";

const ROOT = resolve(import.meta.dir, "../..");
const args = new Map(
  process.argv.slice(2).map((a) => {
    const [k, ...v] = a.replace(/^--/, "").split("=");
    return [k ?? "", v.length > 0 ? v.join("=") : "true"] as const;
  }),
);
const bun = process.execPath;
const command = args.has("source")
  ? [bun, join(ROOT, "src/main.ts")]
  : [resolve(ROOT, args.get("binary") ?? "dist/sense-events-linux-x64")];
const rates = (args.get("rates") ?? "20000,30000,40000").split(",").map(Number);
const seconds = Number(args.get("seconds") ?? 5);
const graceMs = Number(args.get("grace-ms") ?? 3000);
const counterScript = args.get("counter") ?? "mqtt-counter.ts";
if (!buildCSender()) throw new Error("[e2e-steps] the C sender is needed");
const file = writeDatagramFile("datagrams", 4000);

const { startInfluxdb } = await import("../../test/support/influxdb.ts");
const { startMosquitto } = await import("../../test/support/mosquitto.ts");
const influx = await startInfluxdb();
const broker = await startMosquitto();
const db = "e2e_steps";
const config: AppConfig = { capacity: 10_000, history: args.get("history") !== "off" };
if (!args.has("no-influx")) config.influx = { port: influx.port, dbName: db, maxBatchSize: 5000 };
if (!args.has("no-mqtt")) config.mqtt = { port: broker.port };
const app = await startApp(command, config);
const { child: counterChild, hello } = await spawnHelper<{ httpPort: number }>(
  [bun, join(import.meta.dir, counterScript), broker.url, "qliksense/userevent"],
  "mqtt counter",
);
const mqttCount = async () =>
  ((await (await fetch(`http://127.0.0.1:${hello.httpPort}/`)).json()) as { received: number }).received;
const influxCount = async () => (config.influx ? await countUserEvents(influx.url, db) : 0);
// mosquitto's own count of messages it dropped (QoS 0 to a subscriber whose queue is full), every 10 s.
let brokerDropped = "?";
const sys = await mqtt.connectAsync(broker.url, { clean: true });
sys.on("message", (_topic, payload) => {
  brokerDropped = payload.toString();
});
await sys.subscribeAsync("$SYS/broker/publish/messages/dropped", { qos: 0 });
const names = new Map<number, string>([
  [app.pid, "sense-events"],
  [counterChild.pid, "mqtt-counter"],
]);

try {
  for (const rate of rates) {
    const acc0 = (await app.stats()).datagrams.accepted;
    const in0 = await influxCount();
    const mq0 = await mqttCount();
    const start = sampleCpu(descendants(process.pid), names);
    const sending = send("c-sendmmsg", app.udpPort, file, rate * seconds, rate, seconds * 3);
    await Bun.sleep(300);
    const pids = descendants(process.pid);
    const t0 = performance.now();
    const before = sampleCpu(pids, names);
    const machine0 = machineTicks();
    await Bun.sleep(seconds * 1000 - 600);
    const after = sampleCpu(pids, names);
    const machine1 = machineTicks();
    const cpuSeconds = (performance.now() - t0) / 1000;
    const { sent } = await sending;
    const deadline = performance.now() + graceMs;
    let landed = { influx: 0, mqtt: 0 };
    let landedMs = Number.NaN;
    for (let poll = 0; performance.now() < deadline; poll++) {
      // InfluxDB's count reads every point: asked every 500 ms until MQTT has everything (as scripts/bench.ts).
      const mqtt = (await mqttCount()) - mq0;
      const askInflux = poll % 5 === 0 || !config.mqtt || mqtt >= sent;
      landed = { influx: askInflux ? (await influxCount()) - in0 : landed.influx, mqtt };
      if ((!config.influx || landed.influx >= sent) && (!config.mqtt || landed.mqtt >= sent)) {
        landedMs = Math.round(performance.now() - t0 + 300);
        break;
      }
      await Bun.sleep(100);
    }
    const end = sampleCpu(pids, names);
    // CPU µs per event from before the sender started until everything landed (the sender excluded).
    const usPerEvent: Record<string, number> = {};
    for (const [key, e] of end) {
      const b = start.get(key)?.ticks ?? 0;
      usPerEvent[e.process] = (usPerEvent[e.process] ?? 0) + ((e.ticks - b) * 10_000) / sent;
    }
    for (const k of Object.keys(usPerEvent)) usPerEvent[k] = Math.round(usPerEvent[k] as number);
    const stats = (await app.stats()) as Awaited<ReturnType<typeof app.stats>> & {
      datagrams: { dropped: Record<string, number> };
      udp: { kernelRcvbufErrorsSinceStart: number | null };
    };
    const threads = cpuBetween(before, after, cpuSeconds);
    const row = {
      rate,
      sent,
      accepted: stats.datagrams.accepted - acc0,
      kernelDropsTotal: stats.udp.kernelRcvbufErrorsSinceStart,
      queueFullTotal: stats.datagrams.dropped.queue_full,
      influx: landed.influx,
      mqtt: landed.mqtt,
      brokerDroppedTotal: brokerDropped,
      queued: Object.fromEntries(
        Object.entries(stats.destinations).map(([n, d]) => [n, d.queued.memory + d.queued.spool]),
      ),
      landedMs,
      cpu: perProcess(threads),
      // Whole machine while sending, % of one core: everything above the bench's own processes is other work.
      machineBusy: machineBusyPct(machine0, machine1, cpuSeconds),
      usPerEvent,
      ...(args.has("threads") ? { threads: threads.map((t) => `${t.process}/${t.thread} ${t.pct}`) } : {}),
    };
    console.log(JSON.stringify(row));
    await Bun.sleep(2000);
  }
  await Bun.sleep(11_000);
  console.log(JSON.stringify({ brokerDroppedTotal: brokerDropped, mqttCounted: await mqttCount() }));
} finally {
  await sys.endAsync();
  counterChild.kill("SIGTERM");
  await counterChild.exited;
  await app.close();
  await broker.close();
  await influx.close();
}
