/**
 * The performance benchmark of sense-events (issue 4): starts the compiled binary and the real test services
 * (InfluxDB 1.x, mosquitto) on loopback, and measures ingest, end-to-end delivery, API latency under load,
 * resources and the in-process hot path. Prints Markdown tables and writes docs/bench-results.json.
 *
 *   bun scripts/bench.ts [--quick] [--runs=3] [--only=ingest,e2e,api,resources,hot,writethrough,history]
 *                        [--binary=dist/sense-events-linux-x64 | --source] [--build]
 *                        [--rmem-max=BYTES] [--receive-buffer=BYTES] [--attempts=2] [--steady-rate=10000] [--history=off]
 *                        [--json=docs/bench-results.json]
 *
 * `--rmem-max` raises net.core.rmem_max with sysctl (root) for the run and restores it at the end;
 * `--receive-buffer` sets sense-events.udp.receiveBufferBytes and the bare socket's recvBufferSize alike.
 *
 * Every figure is the median of `--runs` runs, with min and max. `--quick` is one short run of each.
 */
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import os from "node:os";
import { join, resolve } from "node:path";
import {
  type App,
  type AppConfig,
  type AppStats,
  spawnHelper,
  startApp,
  startBareReceiver,
} from "./bench/app.ts";
import { countUserEvents, influxOwnRate, userEventLines } from "./bench/influx.ts";
import {
  burst,
  type CountingReceiver,
  type IngestOptions,
  type StepOutcome,
  settle,
  stepRates,
} from "./bench/ingest.ts";
import { buildCSender, type SenderKind, send, writeDatagramFile } from "./bench/sender.ts";
import { markdownTable, num, percentile, range, type Summary, summarize } from "./bench/stats.ts";

const ROOT = resolve(import.meta.dir, "..");
const args = new Map(
  process.argv.slice(2).map((a) => {
    const [k, ...v] = a.replace(/^--/, "").split("=");
    return [k ?? "", v.length > 0 ? v.join("=") : "true"] as const;
  }),
);
const quick = args.has("quick");
const runs = Number(args.get("runs") ?? (quick ? 1 : 3));
const only = new Set((args.get("only") ?? "ingest,api,resources,e2e,hot,writethrough,history").split(","));
const jsonPath = resolve(ROOT, args.get("json") ?? "docs/bench-results.json");
const binary = resolve(ROOT, args.get("binary") ?? "dist/sense-events-linux-x64");
const bun = process.execPath;
const command = args.has("source") ? [bun, join(ROOT, "src/main.ts")] : [binary];
/** `--history=off` runs the app with its embedded history disabled. */
const historyOn = args.get("history") !== "off";

const results: Record<string, unknown> = {};
const tables: string[] = [];
const log = (line: string) => console.error(`[bench] ${line}`);

// ---- machine ----------------------------------------------------------------------------------------

const sysctl = (key: string) => readFileSync(`/proc/sys/${key.replaceAll(".", "/")}`, "utf8").trim();
const rmemBefore = sysctl("net.core.rmem_max");
const rmemMax = args.get("rmem-max");
if (rmemMax) {
  const r = spawnSync("sysctl", ["-w", `net.core.rmem_max=${rmemMax}`], { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`[bench] sysctl failed (root needed): ${r.stderr}`);
  // Put the machine back as it was, also when the run fails.
  process.on("exit", () =>
    spawnSync("sysctl", ["-w", `net.core.rmem_max=${rmemBefore}`], { stdio: "ignore" }),
  );
}
function receiveBufferArg(): number | null {
  return args.has("receive-buffer") ? Number(args.get("receive-buffer")) : null;
}
const machine = {
  nproc: os.cpus().length,
  cpu: os.cpus()[0]?.model ?? "?",
  memoryMiB: Math.round(os.totalmem() / 2 ** 20),
  kernel: os.release(),
  bun: Bun.version,
  rmemMax: Number(sysctl("net.core.rmem_max")),
  rmemMaxChangedFrom: rmemMax ? Number(rmemBefore) : null,
  rmemDefault: Number(sysctl("net.core.rmem_default")),
  receiveBufferBytes: receiveBufferArg(),
  loadavgAtStart: os.loadavg().map((l) => Number(l.toFixed(2))),
  command: `bun scripts/bench.ts ${process.argv.slice(2).join(" ")}`.trim(),
  runs,
  startedAt: new Date().toISOString(),
};
results.machine = machine;

// ---- preparation ------------------------------------------------------------------------------------

if (!args.has("source") && (args.has("build") || !existsSync(binary))) {
  log("building the binary: bun scripts/build.ts --only linux-x64");
  const b = spawnSync(bun, [join(ROOT, "scripts/build.ts"), "--only", "linux-x64"], { stdio: "inherit" });
  if (b.status !== 0 || !existsSync(binary)) throw new Error("[bench] build failed");
}
const hasC = buildCSender();
const file = writeDatagramFile("datagrams", 4000);
const steps = [50_000, 100_000, 150_000, 200_000, 250_000, 300_000, 400_000, 500_000, 600_000, 800_000];
const attempts = Number(args.get("attempts") ?? 2);
const receiveBuffer = args.has("receive-buffer") ? Number(args.get("receive-buffer")) : undefined;
const stepSeconds = quick ? 1 : 2;

/** Repeats an async measurement `runs` times. */
async function repeat<T>(n: number, fn: (run: number) => Promise<T>): Promise<T[]> {
  const out: T[] = [];
  for (let i = 0; i < n; i++) out.push(await fn(i));
  return out;
}

const pick = <T>(xs: T[], f: (x: T) => number): Summary => summarize(xs.map(f));

/** The app's datagram count for the ingest tests (received past the allow-list). */
const appReceiver = (app: App): CountingReceiver => ({
  udpPort: app.udpPort,
  count: async () => (await app.stats()).datagrams.received,
  pid: app.pid,
});

// ---- sender choice ----------------------------------------------------------------------------------

async function chooseSender(): Promise<SenderKind> {
  const kinds: SenderKind[] = hasC ? ["c-sendmmsg", "bun-sendMany"] : ["bun-sendMany"];
  const speeds: Record<string, number[]> = {};
  const rx = await startBareReceiver();
  try {
    for (let i = 0; i < 3; i++) {
      for (const kind of kinds) {
        const r = await send(kind, rx.udpPort, file, 100_000, 0, 30);
        speeds[kind] = [...(speeds[kind] ?? []), r.sent / r.seconds];
        await settle(async () => (await rx.count()).received, 100, 2000);
      }
    }
  } finally {
    await rx.close();
  }
  const summary = Object.fromEntries(Object.entries(speeds).map(([k, v]) => [k, summarize(v)]));
  results.senders = summary;
  const best = kinds.reduce((a, b) =>
    (summary[a]?.median ?? 0) >= (summary[b]?.median ?? 0) ? a : b,
  ) as SenderKind;
  tables.push(
    `### Sender speed (100,000 datagrams at full speed into the bare socket, 3 runs)\n\n${markdownTable(
      ["sender", "datagrams/s"],
      Object.entries(summary).map(([k, s]) => [k + (k === best ? " (used)" : ""), range(s)]),
    )}`,
  );
  return best;
}

// ---- ingest -----------------------------------------------------------------------------------------

async function ingest(sender: SenderKind): Promise<void> {
  const o: IngestOptions = { sender, file, seconds: stepSeconds, steps, maxLossPct: 0.1, attempts };
  const perRun: {
    bare: StepOutcome;
    app: StepOutcome;
    bareBurst: Awaited<ReturnType<typeof burst>>;
    appBurst: Awaited<ReturnType<typeof burst>>;
  }[] = [];
  for (let run = 0; run < runs; run++) {
    log(`ingest run ${run + 1}/${runs}`);
    const bareRx = await startBareReceiver(receiveBuffer);
    const app = await startApp(
      command,
      receiveBuffer ? { receiveBufferBytes: receiveBuffer, history: historyOn } : { history: historyOn },
    );
    try {
      const bareCount: CountingReceiver = {
        udpPort: bareRx.udpPort,
        count: async () => (await bareRx.count()).received,
      };
      const appRx = appReceiver(app);
      const [bare, appSteps] = (await stepRates([bareCount, appRx], o)) as [StepOutcome, StepOutcome];
      const bareBurst = await burst(bareCount, o, 100_000);
      const appBurst = await burst(appRx, o, 100_000);
      log(`ingest run ${run + 1}/${runs}: sense-events ${num(appSteps.best)}/s, bare ${num(bare.best)}/s`);
      perRun.push({ bare, app: appSteps, bareBurst, appBurst });
    } finally {
      await app.close();
      await bareRx.close();
    }
  }
  const ratio = pick(perRun, (r) => (100 * r.app.best) / r.bare.best);
  const summary = {
    appBestRate: pick(perRun, (r) => r.app.best),
    bareBestRate: pick(perRun, (r) => r.bare.best),
    ratioPct: ratio,
    appLimitedBy: perRun.map((r) => r.app.limitedBy),
    bareLimitedBy: perRun.map((r) => r.bare.limitedBy),
    appBurstKeptPct: pick(perRun, (r) => 100 - r.appBurst.lossPct),
    bareBurstKeptPct: pick(perRun, (r) => 100 - r.bareBurst.lossPct),
    appBurstReceiveRate: pick(perRun, (r) => r.appBurst.receiveRate),
    appBurstMainCpuUs: pick(perRun, (r) => r.appBurst.mainCpuUs),
    appBurstProcessCpuUs: pick(perRun, (r) => r.appBurst.processCpuUs),
    bareBurstReceiveRate: pick(perRun, (r) => r.bareBurst.receiveRate),
    burstSendRate: pick(perRun, (r) => r.appBurst.sendRate),
    runs: perRun,
  };
  results.ingest = summary;
  const limited = (xs: string[]) => (xs.every((x) => x === "loss") ? "" : ` (stopped by: ${xs.join(", ")})`);
  tables.push(
    `### Ingest only (no destinations, history ${historyOn ? "on" : "off"}), ${stepSeconds} s per step, loss limit 0.1 %, best of ${attempts} tries per step, receivers stepped in lockstep\n\n${markdownTable(
      ["figure", "sense-events", "bare node:dgram socket", "target"],
      [
        [
          "highest paced rate with < 0.1 % loss, events/s",
          range(summary.appBestRate) + limited(summary.appLimitedBy),
          range(summary.bareBestRate) + limited(summary.bareLimitedBy),
          "≥ 200,000",
        ],
        ["sense-events / bare socket, %", range(ratio, 0), "100", "≥ 50"],
        [
          "100,000 burst at full speed, % kept",
          range(summary.appBurstKeptPct, 2),
          range(summary.bareBurstKeptPct, 2),
          "≥ 99",
        ],
        [
          "burst intake rate (first to last change of the received count, which sense-events counts once processed), datagrams/s",
          range(summary.appBurstReceiveRate),
          range(summary.bareBurstReceiveRate),
          "",
        ],
        ["burst: main-thread CPU per datagram, µs", range(summary.appBurstMainCpuUs, 1), "", ""],
        ["burst: process CPU per datagram (all threads), µs", range(summary.appBurstProcessCpuUs, 1), "", ""],
        ["burst send rate, datagrams/s", range(summary.burstSendRate), "", ""],
      ],
    )}`,
  );
}

// ---- API under load and RSS with 100,000 events ------------------------------------------------------

async function timeRequest(url: string): Promise<number> {
  const t = performance.now();
  const res = await fetch(url);
  await res.arrayBuffer();
  if (!res.ok) throw new Error(`[bench] ${url}: ${res.status}`);
  return performance.now() - t;
}

/** Polls `url` sequentially (5 ms apart) until `done()` and returns the latencies. */
async function pollLatency(url: string, done: () => boolean): Promise<number[]> {
  const out: number[] = [];
  while (!done()) {
    out.push(await timeRequest(url));
    await Bun.sleep(5);
  }
  return out;
}

/** Latency samples per route during one flood, and the datagram loss of that flood. */
interface Flood {
  health: number[];
  events: number[];
  lossPct: number;
}

async function flood(
  app: App,
  sender: SenderKind,
  rate: number,
  seconds: number,
  urls: string[],
): Promise<Flood> {
  const rx = appReceiver(app);
  const before = await settle(rx.count, 200, 3000);
  let done = false;
  const sending = send(sender, app.udpPort, file, rate * seconds, rate, seconds * 3).finally(() => {
    done = true;
  });
  await Bun.sleep(200);
  // One independent sequential loop per route, so a blocked /health does not delay the /api/events samples.
  const [health, events] = await Promise.all(urls.map((url) => pollLatency(url, () => done)));
  const sent = (await sending).sent;
  const received = (await settle(rx.count)) - before;
  return { health: health ?? [], events: events ?? [], lossPct: (100 * (sent - received)) / sent };
}

async function apiUnderLoad(sender: SenderKind): Promise<void> {
  const floodSeconds = quick ? 3 : 5;
  const rates = [200_000, 50_000];
  const perRun = await repeat(runs, async (run) => {
    log(`api run ${run + 1}/${runs}`);
    const app = await startApp(command, { capacity: 100_000, history: historyOn });
    try {
      const rssIdle = app.rss();
      await send(sender, app.udpPort, file, 100_000, 50_000, 30);
      await settle(appReceiver(app).count);
      const stats = await app.stats();
      await Bun.sleep(500);
      const rss100k = app.rss();
      const urls = [`${app.api}/health`, `${app.api}/api/events?limit=100&user=testuser3`];
      const idle = { health: [] as number[], events: [] as number[] };
      for (let i = 0; i < 50; i++) {
        idle.health.push(await timeRequest(urls[0] as string));
        idle.events.push(await timeRequest(urls[1] as string));
      }
      const floods: Flood[] = [];
      for (const rate of rates) floods.push(await flood(app, sender, rate, floodSeconds, urls));
      return { stored: stats.events.stored, rssIdle, rss100k, idle, floods };
    } finally {
      await app.close();
    }
  });
  const lat = (f: (r: (typeof perRun)[number]) => number[] | undefined) => ({
    p50: pick(perRun, (r) => percentile(f(r) ?? [], 50)),
    p99: pick(perRun, (r) => percentile(f(r) ?? [], 99)),
  });
  const summary = {
    floodSeconds,
    idle: { health: lat((r) => r.idle.health), events: lat((r) => r.idle.events) },
    floods: rates.map((rate, i) => ({
      rate,
      health: lat((r) => r.floods[i]?.health),
      events: lat((r) => r.floods[i]?.events),
      healthSamples: pick(perRun, (r) => r.floods[i]?.health.length ?? Number.NaN),
      eventsSamples: pick(perRun, (r) => r.floods[i]?.events.length ?? Number.NaN),
      lossPct: pick(perRun, (r) => r.floods[i]?.lossPct ?? Number.NaN),
    })),
    storedEvents: pick(perRun, (r) => r.stored),
    rssIdleMiB: pick(perRun, (r) => r.rssIdle / 2 ** 20),
    rss100kMiB: pick(perRun, (r) => r.rss100k / 2 ** 20),
    runs: perRun.map((r) => ({ ...r, idle: undefined, floods: r.floods.map((f) => ({ ...f })) })),
  };
  results.api = summary;
  const rows: string[][] = [];
  const row = (
    label: string,
    route: string,
    l: { p50: Summary; p99: Summary },
    samples: string,
    target: string,
  ) => rows.push([label, route, range(l.p50, 1), range(l.p99, 1), samples, target]);
  row("idle", "GET /health", summary.idle.health, "50", "");
  row("idle", "GET /api/events?limit=100&user=testuser3", summary.idle.events, "50", "< 20");
  for (const f of summary.floods) {
    const label = `${num(f.rate)}/s flood (loss ${range(f.lossPct, 1)} %)`;
    row(label, "GET /health", f.health, range(f.healthSamples), f.rate === 200_000 ? "p99 < 100" : "");
    row(label, "GET /api/events?limit=100&user=testuser3", f.events, range(f.eventsSamples), "< 20");
  }
  tables.push(
    `### API latency, ms (100,000 events stored, events.capacity 100000; the user filter matches 1 event in 10)\n\n${markdownTable(
      ["load", "request", "p50", "p99", "samples per run", "target"],
      rows,
    )}\n\nDuring a ${floodSeconds} s flood each route is polled by its own sequential loop (one request in flight per route, 5 ms apart), from 200 ms into the flood until the sender finishes; a request still open then is counted in full.`,
  );
}

// ---- resources --------------------------------------------------------------------------------------

async function startup(): Promise<void> {
  const samples = await repeat(Math.max(5, runs * 2), async () => {
    const app = await startApp(command, { history: historyOn });
    await Bun.sleep(1000);
    const rss = app.rss();
    await app.close();
    return { ms: app.startupMs, rss };
  });
  results.startup = {
    ms: pick(samples, (s) => s.ms),
    rssIdleMiB: pick(samples, (s) => s.rss / 2 ** 20),
  };
}

// ---- end to end -------------------------------------------------------------------------------------

async function endToEnd(sender: SenderKind): Promise<void> {
  const { startInfluxdb } = await import("../test/support/influxdb.ts");
  const { startMosquitto } = await import("../test/support/mosquitto.ts");
  const influx = await startInfluxdb();
  const broker = await startMosquitto();
  const e2eSteps = [10_000, 20_000, 30_000, 40_000, 60_000, 80_000, 100_000, 120_000, 150_000];
  const seconds = quick ? 3 : 5;
  const graceMs = 3000;
  const steadySeconds = quick ? 15 : 60;
  const steadyRate = Number(args.get("steady-rate") ?? 10_000);
  try {
    const lines = userEventLines(quick ? 50_000 : 200_000, Date.now() - 3_600_000);
    const own = await repeat(runs, (run) => influxOwnRate(influx.url, `bench_own_${run}`, lines, 5000));
    const mqttOwn = await repeat(runs, () => mqttOwnRate(broker.url, quick ? 50_000 : 200_000));
    const perRun = await repeat(runs, async (run) => {
      const db = `bench_e2e_${run}`;
      const influxConfig = { port: influx.port, dbName: db, maxBatchSize: 5000 };
      const config: AppConfig = { capacity: 10_000, influx: influxConfig, mqtt: { port: broker.port } };
      const app = await startApp(command, { ...config, history: historyOn });
      const counter = await startMqttCounter(broker.url, "qliksense/userevent");
      const stepsRun: {
        target: number;
        sent: number;
        accepted: number;
        influx: number;
        mqtt: number;
        landedMs: number;
        pass: boolean;
      }[] = [];
      let best = 0;
      let rssSteady = Number.NaN;
      let steadyStats: AppStats["destinations"] | null = null;
      try {
        log(`e2e run ${run + 1}/${runs}`);
        for (const rate of e2eSteps) {
          const acc0 = (await app.stats()).datagrams.accepted;
          const in0 = await countUserEvents(influx.url, db);
          const mq0 = await counter.count();
          const start = performance.now();
          const sent = (await send(sender, app.udpPort, file, rate * seconds, rate, seconds * 3)).sent;
          const deadline = performance.now() + graceMs;
          let landed = { influx: 0, mqtt: 0 };
          let landedMs = Number.NaN;
          for (let poll = 0; performance.now() < deadline; poll++) {
            // InfluxDB's count reads every stored point: asked every 500 ms until MQTT has everything, so
            // checking does not load influxd while it still has writes to take (the counter answers from memory).
            const mqtt = (await counter.count()) - mq0;
            const askInflux = poll % 5 === 0 || mqtt >= sent;
            landed = {
              influx: askInflux ? (await countUserEvents(influx.url, db)) - in0 : landed.influx,
              mqtt,
            };
            if (landed.influx >= sent && landed.mqtt >= sent) {
              landedMs = performance.now() - start;
              break;
            }
            await Bun.sleep(100);
          }
          const accepted = (await app.stats()).datagrams.accepted - acc0;
          const pass = accepted === sent && landed.influx === sent && landed.mqtt === sent;
          stepsRun.push({
            target: rate,
            sent,
            accepted,
            influx: landed.influx,
            mqtt: landed.mqtt,
            landedMs,
            pass,
          });
          log(
            `e2e ${num(rate)}/s: sent ${sent}, accepted ${accepted}, influx ${landed.influx}, mqtt ${landed.mqtt}`,
          );
          if (!pass) break;
          best = rate;
        }
        // Steady load for the RSS figure, on a fresh app so an unfinished backlog does not count.
      } finally {
        await counter.close();
        await app.close();
      }
      if (run === 0) {
        const steadyApp = await startApp(command, {
          history: historyOn,
          ...config,
          influx: { ...influxConfig, dbName: `${db}_steady` },
        });
        try {
          log(`steady load ${num(steadyRate)}/s for ${steadySeconds} s`);
          await send(
            sender,
            steadyApp.udpPort,
            file,
            steadyRate * steadySeconds,
            steadyRate,
            steadySeconds * 2,
          );
          await Bun.sleep(2000);
          rssSteady = steadyApp.rss();
          steadyStats = (await steadyApp.stats()).destinations;
        } finally {
          await steadyApp.close();
        }
      }
      return { steps: stepsRun, best, rssSteady, steadyStats };
    });
    const ownRate = summarize(own);
    const summary = {
      influxOwnRate: ownRate,
      mqttOwnRate: summarize(mqttOwn),
      bestRate: pick(perRun, (r) => r.best),
      ratioPct: summarize(perRun.map((r, i) => (100 * r.best) / (own[i] ?? Number.NaN))),
      stepSeconds: seconds,
      graceMs,
      steadyRate,
      steadySeconds,
      rssSteadyMiB: summarize(perRun.map((r) => r.rssSteady / 2 ** 20)),
      runs: perRun,
    };
    results.e2e = summary;
    tables.push(
      `### End to end into InfluxDB 1.x and MQTT (maxBatchSize 5000, flushIntervalMs 1000; ${seconds} s per step, all must land within ${graceMs / 1000} s after sending ends)\n\n${markdownTable(
        ["figure", "value", "target"],
        [
          ["highest rate with zero loss, events/s", range(summary.bestRate), "≥ 40,000"],
          [
            "InfluxDB's own batched ingest rate (POST /write, 5000 lines, one in flight), lines/s",
            range(ownRate),
            "",
          ],
          ["sense-events / InfluxDB own rate, %", range(summary.ratioPct, 0), "≥ 60"],
          [
            "mqtt.js → mosquitto → subscriber own rate (one publisher, QoS 0, 1000 writes awaited together), messages/s",
            range(summary.mqttOwnRate),
            "",
          ],
        ],
      )}`,
    );
  } finally {
    await broker.close();
    await influx.close();
  }
}

async function startMqttCounter(url: string, topic: string) {
  const { child, hello } = await spawnHelper<{ httpPort: number }>(
    [bun, join(import.meta.dir, "bench/mqtt-counter.ts"), url, topic],
    "mqtt counter",
  );
  const { httpPort } = hello;
  return {
    count: async () =>
      ((await (await fetch(`http://127.0.0.1:${httpPort}/`)).json()) as { received: number }).received,
    async close() {
      child.kill("SIGTERM");
      await child.exited;
    },
  };
}

/** Publishes `count` messages with mqtt.js from a child process and times their arrival at a subscriber. */
async function mqttOwnRate(url: string, count: number): Promise<number> {
  const topic = "bench/own";
  const counter = await startMqttCounter(url, topic);
  try {
    const start = performance.now();
    const child = Bun.spawn(
      [bun, join(import.meta.dir, "bench/mqtt-publisher.ts"), url, topic, String(count)],
      {
        stdout: "ignore",
        stderr: "inherit",
      },
    );
    const deadline = start + 60_000;
    let received = 0;
    while (received < count && performance.now() < deadline) {
      await Bun.sleep(20);
      received = await counter.count();
    }
    const seconds = (performance.now() - start) / 1000;
    await child.exited;
    return received / seconds;
  } finally {
    await counter.close();
  }
}

// ---- hot path ---------------------------------------------------------------------------------------

async function hotPath(): Promise<void> {
  const samples = await repeat(runs, async () => {
    const child = Bun.spawn(
      [bun, join(import.meta.dir, "bench/hot-path.ts"), `--events=${quick ? 50_000 : 200_000}`],
      {
        stdout: "pipe",
        stderr: "inherit",
      },
    );
    const out = await new Response(child.stdout).text();
    await child.exited;
    return JSON.parse(out) as Record<string, { cpuUsPerEvent: number }>;
  });
  const names = Object.keys(samples[0] ?? {});
  const summary = Object.fromEntries(
    names.map((n) => [n, pick(samples, (s) => s[n]?.cpuUsPerEvent ?? Number.NaN)]),
  );
  results.hotPath = summary;
  tables.push(
    `### Hot path, CPU µs per event (in process, real modules)\n\n${markdownTable(
      ["case", "CPU µs/event", "events/s per core"],
      Object.entries(summary).map(([n, s]) => [n, range(s, 2), num(1e6 / s.median)]),
    )}`,
  );
}

// ---- write-through ----------------------------------------------------------------------------------

/** Outbox CPU per event at 40k/s with a delivering destination vs one that is down (write-through to the spool). */
async function writeThrough(): Promise<void> {
  type Figures = {
    cpuUsPerEvent: number;
    msToDisk: number;
    msToSent: number;
    maxSpooled: number;
    spoolMiB: number;
  };
  const samples = await repeat(runs, async () => {
    const child = Bun.spawn(
      [bun, join(import.meta.dir, "bench/write-through.ts"), `--events=${quick ? 50_000 : 200_000}`],
      { stdout: "pipe", stderr: "inherit" },
    );
    const out = await new Response(child.stdout).text();
    await child.exited;
    return JSON.parse(out) as { healthy: Figures; writeThrough: Figures; slow: Figures; slowMs: number };
  });
  const healthy = pick(samples, (s) => s.healthy.cpuUsPerEvent);
  const through = pick(samples, (s) => s.writeThrough.cpuUsPerEvent);
  const toDisk = pick(samples, (s) => s.writeThrough.msToDisk);
  const slow = pick(samples, (s) => s.slow.cpuUsPerEvent);
  const slowSpooled = pick(samples, (s) => s.slow.maxSpooled);
  const slowToSent = pick(samples, (s) => s.slow.msToSent);
  results.writeThrough = { healthy, writeThrough: through, msToDisk: toDisk, slow, slowSpooled, slowToSent };
  tables.push(
    `### Outbox at 40,000 events/s: memory tier vs write-through (in process, real sqlite spool)\n\n${markdownTable(
      ["case", "CPU µs/event", "share of one core at 40k/s", "last item on disk after"],
      [
        ["destination delivering (memory)", range(healthy, 2), `${num(healthy.median * 4)} %`, "—"],
        [
          "destination down (write-through)",
          range(through, 2),
          `${num(through.median * 4)} %`,
          `${range(toDisk, 0)} ms`,
        ],
      ],
    )}\n\nA destination answering each batch after ${samples[0]?.slowMs ?? "?"} ms, at 3,000 events/s (below its capacity): ${range(slow, 2)} CPU µs/event, at most ${range(slowSpooled, 0)} items in the spool at any time (0: write-through stayed off), all sent ${range(slowToSent, 0)} ms after the last enqueue.`,
  );
}

// ---- embedded history ---------------------------------------------------------------------------------

/** The embedded history (scripts/bench/history.ts in its own process): write rate, size, queries, export under load. */
async function history(): Promise<void> {
  const small = quick ? ["--events", "200000", "--write-events", "200000", "--ingest-seconds", "15"] : [];
  const child = Bun.spawn([bun, join(ROOT, "scripts/bench/history.ts"), ...small], {
    stdout: "pipe",
    stderr: "inherit",
  });
  const out = JSON.parse(await new Response(child.stdout).text()) as { markdown: string };
  if ((await child.exited) !== 0) throw new Error("[bench] scripts/bench/history.ts failed");
  results.history = out;
  tables.push(out.markdown);
}

// ---- main -------------------------------------------------------------------------------------------

const t0 = performance.now();
const sender = await chooseSender();
log(`sender: ${sender}`);
if (only.has("ingest")) await ingest(sender);
if (only.has("api")) await apiUnderLoad(sender);
if (only.has("resources")) await startup();
if (only.has("e2e")) await endToEnd(sender);
if (only.has("hot")) await hotPath();
if (only.has("writethrough")) await writeThrough();
if (only.has("history")) await history();

// Resources table, gathered from the sections that ran.
const api = results.api as { rssIdleMiB: Summary; rss100kMiB: Summary } | undefined;
const st = results.startup as { ms: Summary; rssIdleMiB: Summary } | undefined;
const e2e = results.e2e as { rssSteadyMiB: Summary; steadyRate: number; steadySeconds: number } | undefined;
const resRows: string[][] = [];
if (st)
  resRows.push(
    ["start-up to /health 200, ms", range(st.ms, 0), "< 200"],
    ["RSS idle, MiB", range(st.rssIdleMiB, 1), "< 80"],
  );
if (api)
  resRows.push([
    "RSS with 100,000 events stored (events.capacity 100000), MiB",
    range(api.rss100kMiB, 1),
    "< 150",
  ]);
if (e2e)
  resRows.push([
    `RSS after ${e2e.steadySeconds} s at ${num(e2e.steadyRate)}/s into InfluxDB + MQTT, MiB (run 1)`,
    range(e2e.rssSteadyMiB, 1),
    "",
  ]);
const steadyQueues = (
  results.e2e as { runs?: { steadyStats: AppStats["destinations"] | null }[] } | undefined
)?.runs?.[0]?.steadyStats;
const queueNote = steadyQueues
  ? `\n\nAt the end of the steady load (2 s after sending stopped): ${Object.entries(steadyQueues)
      .map(
        ([n, d]) =>
          `${n} sent ${num(d.sent)}, queued ${num(d.queued.memory)} in memory + ${num(d.queued.spool)} spooled`,
      )
      .join("; ")}.`
  : "";
if (resRows.length > 0)
  tables.push(`### Resources\n\n${markdownTable(["figure", "value", "target"], resRows)}${queueNote}`);

results.finishedAt = new Date().toISOString();
results.wallSeconds = Math.round((performance.now() - t0) / 1000);
const header = `## Results\n\n${machine.nproc} CPUs (${machine.cpu}), ${num(machine.memoryMiB)} MiB, Bun ${machine.bun}, net.core.rmem_max=${machine.rmemMax}${
  machine.rmemMaxChangedFrom === null
    ? " (not changed)"
    : ` (raised from ${machine.rmemMaxChangedFrom} by this run)`
}${
  machine.receiveBufferBytes === null ? "" : `, receive buffer ${machine.receiveBufferBytes} bytes requested`
}, load average at start ${machine.loadavgAtStart.join(" ")}. \`${machine.command}\`, ${runs} run(s), median (min–max), ${results.wallSeconds} s.`;
const markdown = [header, ...tables].join("\n\n");
results.markdown = markdown;
writeFileSync(jsonPath, `${JSON.stringify(results, null, 2)}\n`);
console.log(markdown);
