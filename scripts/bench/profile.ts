/**
 * CPU profile of sense-events under a UDP flood, for explaining a missed benchmark target: runs
 * `bun --cpu-prof --cpu-prof-md src/main.ts run` (source, so names resolve), floods it with the C sender and
 * writes the profile (.cpuprofile and .md) to .cache/prof/.
 *
 *   bun scripts/bench/profile.ts [--rate=200000] [--seconds=4] [--e2e [--no-influx | --no-mqtt]] [--capacity=10000]
 *                                [--no-prof]   (just the counts, e.g. to find one destination's capacity)
 */
import { mkdirSync } from "node:fs";
import { join, resolve } from "node:path";
import { type AppConfig, startApp } from "./app.ts";
import { buildCSender, send, writeDatagramFile } from "./sender.ts";

const ROOT = resolve(import.meta.dir, "../..");
const args = new Map(
  process.argv.slice(2).map((a) => {
    const [k, v] = a.replace(/^--/, "").split("=");
    return [k ?? "", v ?? "true"] as const;
  }),
);
const rate = Number(args.get("rate") ?? 200_000);
const seconds = Number(args.get("seconds") ?? 4);
const dir = join(ROOT, ".cache/prof");
mkdirSync(dir, { recursive: true });
if (!buildCSender()) throw new Error("[profile] the C sender is needed");
const file = writeDatagramFile("datagrams", 4000);

const services: { close(): Promise<void> }[] = [];
const config: AppConfig = { capacity: Number(args.get("capacity") ?? 10_000) };
if (args.has("e2e")) {
  const { startInfluxdb } = await import("../../test/support/influxdb.ts");
  const { startMosquitto } = await import("../../test/support/mosquitto.ts");
  const influx = await startInfluxdb();
  const broker = await startMosquitto();
  services.push(broker, influx);
  if (!args.has("no-influx")) config.influx = { port: influx.port, dbName: "profile", maxBatchSize: 5000 };
  if (!args.has("no-mqtt")) config.mqtt = { port: broker.port };
}
const name = `sense-events-${args.has("e2e") ? "e2e" : "ingest"}-${rate}`;
const app = await startApp(
  [
    process.execPath,
    "--cpu-prof",
    "--cpu-prof-md",
    `--cpu-prof-dir=${dir}`,
    `--cpu-prof-name=${name}.cpuprofile`,
    join(ROOT, "src/main.ts"),
  ],
  config,
);
try {
  const before = (await app.stats()).datagrams.received;
  const sent = await send("c-sendmmsg", app.udpPort, file, rate * seconds, rate, seconds * 3);
  // Let the outbox drain for up to 10 s. /api/stats is asked every 500 ms: with the history on it reads the
  // file's time range, which would otherwise show up in the profile.
  let stats = await app.stats();
  for (let i = 0; i < 20; i++) {
    const queued = Object.values(stats.destinations).reduce(
      (n, d) => n + d.queued.memory + d.queued.spool,
      0,
    );
    if (queued === 0 && i >= 2) break;
    await Bun.sleep(500);
    stats = await app.stats();
  }
  console.log(
    JSON.stringify({
      sent: sent.sent,
      received: stats.datagrams.received - before,
      destinations: stats.destinations,
    }),
  );
} finally {
  await app.close();
  for (const s of services) await s.close();
}
console.log(`profile: ${dir}/${name}.cpuprofile (and .md)`);
