/**
 * Soak test (reference §9 delivery): runs the built binary for a while at a steady rate with InfluxDB and
 * MQTT on, and prints RSS, open file descriptors, spool file size, `/health` latency (event-loop lag
 * as a client sees it) and delivery counts every 10 s, then a summary with the trend of each figure.
 *
 *   npm run soak -- [--minutes 10] [--rate 200] [--users 500] [--source] [--outage-every 0]
 *
 * Events cycle through `--users` user ids, as at a real site (a unique user per event would measure the
 * session table growing, not the receiver).
 *
 * `--source` runs `bun src/main.ts` instead of `dist/sense-events-linux-x64` (built when missing).
 * `--outage-every N` stops InfluxDB for 20 s every N minutes, so the spool fills and drains.
 */
import { createSocket } from "node:dgram";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { numberedDatagram, writeE2eConfig } from "../test/support/e2e.ts";
import { startInfluxdb } from "../test/support/influxdb.ts";
import { startMosquitto } from "../test/support/mosquitto.ts";

const { values: args } = parseArgs({
  options: {
    minutes: { type: "string", default: "10" },
    rate: { type: "string", default: "200" },
    source: { type: "boolean", default: false },
    "outage-every": { type: "string", default: "0" },
    users: { type: "string", default: "500" },
  },
});
const minutes = Number(args.minutes);
const rate = Number(args.rate);
const outageEvery = Number(args["outage-every"]);
const users = Number(args.users);
const root = resolve(import.meta.dir, "..");
const binary = join(root, "dist", "sense-events-linux-x64");
if (!args.source && !existsSync(binary)) {
  const built = Bun.spawnSync([process.execPath, "scripts/build.ts", "--only", "linux-x64"], { cwd: root });
  if (built.exitCode !== 0) throw new Error(`[soak] build failed:\n${built.stderr}`);
}

const [influx, broker] = await Promise.all([startInfluxdb(), startMosquitto()]);
const config = await writeE2eConfig({
  influx: { port: influx.port },
  mqtt: { port: broker.port },
  metricsEveryMs: 10_000,
});
const command = args.source ? [process.execPath, "src/main.ts"] : [binary];
const proc = Bun.spawn([...command, "run", "-c", config.file], {
  cwd: root,
  stdout: "ignore",
  stderr: "inherit",
});
const api = `http://127.0.0.1:${config.apiPort}`;
for (let i = 0; ; i++) {
  if (i > 200) throw new Error("[soak] receiver did not start");
  if (
    await fetch(`${api}/health`).then(
      () => true,
      () => false,
    )
  )
    break;
  await Bun.sleep(100);
}

const socket = createSocket("udp4");
let sent = 0;
const started = performance.now();
const endAt = started + minutes * 60_000;
/** Sends at `rate` per second in 10 ms ticks (sleeping, never spinning). */
const sending = (async () => {
  while (performance.now() < endAt) {
    const due = Math.floor(((performance.now() - started) / 1000) * rate);
    while (sent < due)
      socket.send(Buffer.from(numberedDatagram(sent++ % users)), config.udpPort, "127.0.0.1");
    await Bun.sleep(10);
  }
})();
const outages = (async () => {
  if (outageEvery <= 0) return;
  while (performance.now() + outageEvery * 60_000 < endAt) {
    await Bun.sleep(outageEvery * 60_000);
    await influx.stop();
    await Bun.sleep(20_000);
    await influx.start();
  }
})();

function procFigure(file: string, key: string): number {
  const line = readFileSync(`/proc/${proc.pid}/${file}`, "utf8")
    .split("\n")
    .find((l) => l.startsWith(key));
  return Number(line?.split(/\s+/)[1] ?? Number.NaN);
}

function spoolBytes(): number {
  let bytes = 0;
  for (const name of readdirSync(config.dir))
    if (name.startsWith("outbox.sqlite")) bytes += statSync(join(config.dir, name)).size;
  return bytes;
}

type Sample = {
  t: number;
  rssMb: number;
  fds: number;
  spoolKb: number;
  lagMs: number;
  sent: number;
  delivered: number;
  queued: number;
};
const samples: Sample[] = [];
console.log("  t(s)  rss(MB)  fds  spool(KB)  health(ms)  udp sent  influx sent  mqtt sent  queued");
while (performance.now() < endAt) {
  await Bun.sleep(10_000);
  const t0 = performance.now();
  await (await fetch(`${api}/health`)).text();
  const lagMs = performance.now() - t0;
  const stats = (await (await fetch(`${api}/api/stats`)).json()) as {
    destinations: Record<string, { sent: number; queued: { memory: number; spool: number } }>;
  };
  const d = stats.destinations;
  const queued = Object.values(d).reduce((n, s) => n + s.queued.memory + s.queued.spool, 0);
  const sample: Sample = {
    t: Math.round((performance.now() - started) / 1000),
    rssMb: procFigure("status", "VmRSS:") / 1024,
    fds: readdirSync(`/proc/${proc.pid}/fd`).length,
    spoolKb: spoolBytes() / 1024,
    lagMs,
    sent,
    delivered: d.influxdb?.sent ?? 0,
    queued,
  };
  samples.push(sample);
  console.log(
    `${String(sample.t).padStart(6)} ${sample.rssMb.toFixed(1).padStart(8)} ${String(sample.fds).padStart(4)} ${sample.spoolKb.toFixed(0).padStart(10)} ${lagMs.toFixed(1).padStart(11)} ${String(sent).padStart(9)} ${String(sample.delivered).padStart(12)} ${String(d.mqtt?.sent ?? 0).padStart(10)} ${String(queued).padStart(7)}`,
  );
}
await Promise.all([sending, outages]);
socket.close();

/** Least-squares slope per minute of a figure over the second half of the run (after warm-up). */
function trend(pick: (s: Sample) => number): string {
  const half = samples.slice(Math.floor(samples.length / 2));
  if (half.length < 2) return "n/a";
  const xs = half.map((s) => s.t / 60);
  const ys = half.map(pick);
  const mx = xs.reduce((a, b) => a + b, 0) / xs.length;
  const my = ys.reduce((a, b) => a + b, 0) / ys.length;
  const num = xs.reduce((a, x, i) => a + (x - mx) * ((ys[i] as number) - my), 0);
  const den = xs.reduce((a, x) => a + (x - mx) ** 2, 0);
  return (num / den).toFixed(3);
}
const first = samples[0];
const last = samples.at(-1);
console.log(
  JSON.stringify({
    minutes,
    rate,
    sent,
    rssMb: {
      first: first?.rssMb,
      last: last?.rssMb,
      max: Math.max(...samples.map((s) => s.rssMb)),
      perMinuteSecondHalf: trend((s) => s.rssMb),
    },
    fds: { first: first?.fds, last: last?.fds, max: Math.max(...samples.map((s) => s.fds)) },
    spoolKb: { first: first?.spoolKb, last: last?.spoolKb, max: Math.max(...samples.map((s) => s.spoolKb)) },
    healthMs: {
      max: Math.max(...samples.map((s) => s.lagMs)),
      median: samples.map((s) => s.lagMs).sort((a, b) => a - b)[Math.floor(samples.length / 2)],
    },
  }),
);
proc.kill("SIGTERM");
await proc.exited;
await Promise.all([influx.close(), broker.close()]);
config.remove();
