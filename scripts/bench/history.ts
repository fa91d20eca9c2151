/**
 * Benchmark of the embedded history (reference §19):
 *  - write: the history lane alone (outbox + history destination, in process) at fixed rates;
 *  - size and queries: a file of `--events` realistic events (10 days, 3,000 users, 60 apps), bytes per
 *    event with indexes, and `active`, `usage` (one day by app), `concurrency` (one day, 5 m), an events
 *    page — median of 5;
 *  - export under load: the service (from source) on that file receives `--ingest-rate` datagrams/s from
 *    the sender process while a CSV export of the whole file streams over HTTP; checks nothing is lost.
 * Prints one JSON object on stdout (the bench's input) and progress on stderr.
 *
 *   bun scripts/bench/history.ts [--events 1000000] [--rates 100000,150000] [--write-events 500000]
 *                                [--ingest-rate 20000] [--skip-export]
 */
import { Database } from "bun:sqlite";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { validateConfig } from "../../src/config/validate.ts";
import { createOutbox } from "../../src/destinations/outbox.ts";
import { openSpool } from "../../src/destinations/spool-file.ts";
import type { DeliverableEvent, UserEvent } from "../../src/events/event.ts";
import { encodeHistoryItem } from "../../src/history/item.ts";
import { createHistoryPart, type HistoryPart } from "../../src/history/part.ts";
import { migrate } from "../../src/history/schema.ts";
import { usage } from "../../src/history/usage.ts";
import { silentLogger } from "../../src/log.ts";
import { freeUdpPort } from "./app.ts";
import { buildCSender, send, writeDatagramFile } from "./sender.ts";
import { markdownTable, num, summarize } from "./stats.ts";

const { values: args } = parseArgs({
  options: {
    events: { type: "string", default: "1000000" },
    rates: { type: "string", default: "100000,150000" },
    "write-events": { type: "string", default: "500000" },
    "ingest-rate": { type: "string", default: "20000" },
    "skip-export": { type: "boolean", default: false },
    "skip-write": { type: "boolean", default: false },
    "ingest-seconds": { type: "string", default: "60" },
    keep: { type: "string", default: "" },
  },
});
const ROOT = resolve(import.meta.dir, "../..");
const log = (line: string) => console.error(`[bench history] ${line}`);
const DAY = 86_400_000;

async function openPart(dir: string, now = Date.now): Promise<HistoryPart> {
  const result = validateConfig(
    { "sense-events": { history: { path: join(dir, "history.sqlite") }, outbox: { path: "" } } },
    { baseDir: dir },
  );
  if (!result.ok) throw new Error(JSON.stringify(result.errors));
  const part = await createHistoryPart({ config: result.config, log: silentLogger, now });
  if (part === null) throw new Error("history is off");
  return part;
}

const UAS = [
  [
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/119.0.0.0 Safari/537.36",
    "Chrome",
    "119",
    "Windows",
    "10",
  ],
  [
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Edg/120.0.0.0",
    "Edge",
    "120",
    "Windows",
    "10",
  ],
  [
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_1) AppleWebKit/605.1.15 Version/17.1 Safari/605.1.15",
    "Safari",
    "17",
    "Mac OS",
    "14.1",
  ],
  ["Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0", "Firefox", "121", "Linux", null],
] as const;
const appId = (i: number) => `${i.toString(16).padStart(8, "0")}-1111-2222-3333-444444444444`;

/**
 * Realistic events in time order: about 300 sessions open at once, each a Start session, one to four
 * app connections opened and closed, and (mostly) a Stop session; `count` events ending at `end`.
 */
function* realisticEvents(count: number, end: number, span = 10 * DAY): Generator<DeliverableEvent> {
  const gap = span / count;
  let t = end - span;
  let state = 12345;
  const rand = () => {
    state = (state * 1103515245 + 12345) & 0x7fffffff;
    return state / 0x7fffffff;
  };
  interface Sim {
    user: number;
    host: number;
    ua: number;
    steps: [string, number | null][];
  }
  const open: Sim[] = [];
  for (let id = 1; id <= count; id++) {
    t += gap * 2 * rand();
    let sim: Sim;
    if (open.length < 300 && (open.length === 0 || rand() < 0.2)) {
      const apps = 1 + Math.floor(rand() * 4);
      const steps: [string, number | null][] = [["Start session", null]];
      for (let a = 0; a < apps; a++) {
        const app = Math.floor(rand() * rand() * 60);
        steps.push(["Open connection", app], ["Close connection", app]);
      }
      if (rand() < 0.8) steps.push(["Stop session", null]);
      sim = {
        user: Math.floor(rand() * 3000),
        host: Math.floor(rand() * 4),
        ua: Math.floor(rand() * 4),
        steps,
      };
      open.push(sim);
    } else {
      sim = open[Math.floor(rand() * open.length)] as Sim;
    }
    const [action, app] = sim.steps.shift() as [string, number | null];
    if (sim.steps.length === 0) open.splice(open.indexOf(sim), 1);
    const ms = Math.floor(t);
    const ua = UAS[sim.ua] as (typeof UAS)[number];
    const event: UserEvent = {
      id,
      receivedAt: new Date(ms).toISOString(),
      source: action.includes("session") ? "qseow-proxy-session" : "qseow-proxy-connection",
      host: `sense-node${sim.host + 1}.example.com`,
      action,
      userDirectory: "ACME",
      userId: `user${sim.user}`,
      origin: "AppAccess",
      context: app === null ? "/" : `/app/${appId(app)}`,
      appId: app === null ? null : appId(app),
      appName: app === null ? null : `App number ${app}`,
      message: app === null ? `${action} for user 'ACME\\user${sim.user}'` : `UserAgent: '${ua[0]}'`,
      userAgent:
        app === null
          ? null
          : { raw: ua[0], browserName: ua[1], browserMajorVersion: ua[2], osName: ua[3], osVersion: ua[4] },
      remoteAddress: `10.0.${sim.host}.${10 + sim.host}`,
    };
    yield { event, receivedAtMs: ms, timeNs: `${ms}000000`, userFull: `ACME\\user${sim.user}` };
  }
}

/** Events written before the timed part of a write step. */
const WARM_UP = 50_000;

/** A copy of the event whose strings are flat (JSON round trip), as the datagram parser's are. */
function flatten(d: DeliverableEvent): DeliverableEvent {
  return JSON.parse(JSON.stringify(d)) as DeliverableEvent;
}

/** The history lane alone: after a warm-up of {@link WARM_UP} events, enqueues `total` events at `rate`/s (a sleeping timer), until all are written. */
async function writeStep(rate: number, total: number) {
  const dir = mkdtempSync(join(tmpdir(), "sense-events-bench-history-"));
  const part = await openPart(dir);
  // As in the product: a spool behind the memory queue, so a slower moment is queued, not lost.
  const outbox = createOutbox({
    spool: openSpool(join(dir, "outbox.sqlite"), silentLogger),
    log: silentLogger,
  });
  outbox.attach(part.destination);
  // Built before the clock starts (in the product the parser makes the event), in time order over one
  // hour, as a busy site sends them: times that jump back, or one session checkpoint per few events
  // (an hour of event time each), would measure a file no site writes. Strings are flattened as a
  // parser's slices are, not left as the generator's concatenations.
  const events = [...realisticEvents(WARM_UP + total, Date.now(), 3_600_000)].map(flatten);
  let enqueued = 0;
  let maxQueued = 0;
  /** Enqueues events[from, to) at `rate`/s; resolves when the lane has nothing queued. */
  const feed = (from: number, to: number) =>
    new Promise<void>((done) => {
      const start = performance.now();
      const timer = setInterval(() => {
        const due = Math.min(to, from + Math.floor(((performance.now() - start) / 1000) * rate));
        for (; enqueued < due; enqueued++)
          outbox.enqueue("history", part.destination.serialize(events[enqueued] as DeliverableEvent));
        const s = outbox.stats().history;
        const queued = s ? s.queued.memory + s.queued.spool : 0;
        if (from > 0) maxQueued = Math.max(maxQueued, queued);
        if (enqueued === to && queued === 0) {
          clearInterval(timer);
          done();
        }
      }, 5);
    });
  // "Sustained": the first events (compiling the code, growing the file) are written before timing.
  await feed(0, WARM_UP);
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  await feed(WARM_UP, WARM_UP + total);
  const seconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const stats = outbox.stats().history;
  const stored = part.stats().events;
  await outbox.close();
  await part.close();
  rmSync(dir, { recursive: true, force: true });
  return {
    rate,
    eventsPerSecond: Math.round(total / seconds),
    cpuMicrosPerEvent: Number(((cpu.user + cpu.system) / total).toFixed(2)),
    stored,
    lost: WARM_UP + total - stored,
    dropped: (stats?.dropped.overflow ?? 0) + (stats?.dropped.rejected ?? 0),
    maxQueued,
  };
}

/**
 * `usage` by agent over a file whose agents table is large, as in production (one row per distinct
 * message, and connection messages name their session): `count` agents, one day of 100,000 events
 * using the newest 10,000 of them. Only the range's agents are looked up, so the older rows cost nothing.
 */
function agentKeys(count: number) {
  const db = new Database(":memory:");
  migrate(db);
  const agent = db.query("INSERT INTO agents(id, msg, ua, browser, os) VALUES (?, ?, ?, ?, ?)");
  const event = db.query(
    "INSERT INTO events(ts, host, user, action, app, src, origin, context, agent, addr) VALUES (?, 1, ?, 1, 1, 1, 1, 1, ?, 1)",
  );
  db.transaction(() => {
    for (let i = 1; i <= count; i++) {
      const ua = { raw: `Mozilla/5.0 Chrome/${100 + (i % 30)}.0`, browserName: "Chrome" };
      const full = { ...ua, browserMajorVersion: String(100 + (i % 30)), osName: "Windows", osVersion: "10" };
      agent.run(
        i,
        `App connection for session '${i}' UserAgent: '${ua.raw}'`,
        JSON.stringify(full),
        "Chrome",
        "Windows",
      );
    }
    for (let i = 0; i < 100_000; i++) event.run(i * 864, i % 3000, count - (i % 10_000));
  })();
  const run = (by: "browser" | "browserVersion" | "osVersion") =>
    timeIt(() => usage(db, { from: 0, to: DAY, bucket: "hour", by }));
  const r = {
    count,
    browser: run("browser"),
    browserVersion: run("browserVersion"),
    osVersion: run("osVersion"),
  };
  db.close();
  return r;
}

/** Median milliseconds of `fn` over 5 runs (after one warm-up). */
function timeIt(fn: () => unknown): { median: number; min: number; max: number } {
  fn();
  const runs: number[] = [];
  for (let i = 0; i < 5; i++) {
    const t = performance.now();
    fn();
    runs.push(performance.now() - t);
  }
  const s = summarize(runs);
  return {
    median: Number(s.median.toFixed(1)),
    min: Number(s.min.toFixed(1)),
    max: Number(s.max.toFixed(1)),
  };
}

const results: Record<string, unknown> = {};
const total = Number(args["write-events"]);
results.write = [];
for (const rate of args["skip-write"] ? [] : (args.rates as string).split(",").map(Number)) {
  log(`write: ${total} events at ${rate}/s through the outbox`);
  const r = await writeStep(rate, total);
  log(JSON.stringify(r));
  (results.write as unknown[]).push(r);
}

const count = Number(args.events);
const dir = args.keep || mkdtempSync(join(tmpdir(), "sense-events-bench-history-"));
try {
  const end = Date.now() - 3_600_000;
  const part = await openPart(dir);
  log(`size: writing ${count} realistic events straight into the destination`);
  // Only the destination's work is timed (wall and CPU), not building the events.
  let writeMs = 0;
  let writeCpu = 0;
  const flush = async (batch: string[]) => {
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    await part.destination.send(batch);
    writeMs += performance.now() - t0;
    const cpu = process.cpuUsage(cpu0);
    writeCpu += cpu.user + cpu.system;
  };
  let batch: string[] = [];
  for (const d of realisticEvents(count, end)) {
    batch.push(encodeHistoryItem(d));
    if (batch.length === 5000) {
      await flush(batch);
      batch = [];
    }
  }
  if (batch.length > 0) await flush(batch);
  const writeSeconds = writeMs / 1000;
  const stats = part.stats();
  results.size = {
    events: stats.events,
    bytes: stats.bytes,
    bytesPerEvent: Number((stats.bytes / stats.events).toFixed(1)),
    directWriteEventsPerSecond: Math.round(count / writeSeconds),
    directWriteCpuMicrosPerEvent: Number((writeCpu / count).toFixed(2)),
  };
  log(JSON.stringify(results.size));
  const q = part.queries;
  const reader = new Database(join(dir, "history.sqlite"), { readonly: true });
  const dayStart = end - 2 * DAY;
  results.queries = {
    active: timeIt(() => q.active(end - DAY)),
    usageDayByApp: timeIt(() => q.usage({ from: dayStart, to: dayStart + DAY, bucket: "hour", by: "app" })),
    usageDayByBrowser: timeIt(() =>
      q.usage({ from: dayStart, to: dayStart + DAY, bucket: "hour", by: "browser" }),
    ),
    usageDayByBrowserVersion: timeIt(() =>
      q.usage({ from: dayStart, to: dayStart + DAY, bucket: "hour", by: "browserVersion" }),
    ),
    usageDayByOsVersion: timeIt(() =>
      q.usage({ from: dayStart, to: dayStart + DAY, bucket: "hour", by: "osVersion" }),
    ),
    concurrencyDay5m: timeIt(() => q.concurrency({ from: dayStart, to: dayStart + DAY, step: 300_000 })),
    eventsPage100: timeIt(() => q.events({ from: end - DAY, to: end }, 100, null)),
    eventsPageUser: timeIt(() =>
      q.events({ from: end - 10 * DAY, to: end, user: "ACME\\user42" }, 100, null),
    ),
    activeCount: q.active(end - DAY).count,
    // The floor under usage and concurrency: only reading one day's rows, four integer columns each.
    readDayRows: timeIt(() =>
      reader
        .query("SELECT ts, host, user, action FROM events WHERE ts >= ? AND ts < ?")
        .values(dayStart, dayStart + DAY),
    ),
  };
  log(JSON.stringify(results.queries));
  results.agents = agentKeys(500_000);
  log(JSON.stringify(results.agents));
  reader.close();
  await part.close();

  if (!args["skip-export"]) results.exportUnderLoad = await exportUnderLoad(join(dir, "history.sqlite"));
} finally {
  if (!args.keep) rmSync(dir, { recursive: true, force: true });
}
results.markdown = markdown(results as unknown as Results);
console.log(JSON.stringify(results));

interface Results {
  write: {
    rate: number;
    eventsPerSecond: number;
    cpuMicrosPerEvent: number;
    lost: number;
    maxQueued: number;
  }[];
  size: {
    events: number;
    bytes: number;
    bytesPerEvent: number;
    directWriteEventsPerSecond: number;
    directWriteCpuMicrosPerEvent: number;
  };
  queries: Record<string, { median: number; min: number; max: number }> & { activeCount: number };
  agents: ReturnType<typeof agentKeys>;
  exportUnderLoad?: {
    export: boolean;
    ingestRate: number;
    sent: number;
    kernelDrops: number;
    queueFull: number;
    lost: number;
    exportedRows: number;
    exportMiB: number;
    exportSeconds: number;
  }[];
}

/** The Markdown tables of one run. */
function markdown(r: Results): string {
  const ms = (q: { median: number; min: number; max: number }) => `${q.median} (${q.min}–${q.max})`;
  const q = r.queries;
  const parts = [
    `### Embedded history: write rate (outbox lane alone, ${num(total)} events, after ${num(WARM_UP)} warm-up events; the lane's spool behind its 100,000 in memory)\n\n${markdownTable(
      ["offered /s", "written /s", "CPU µs/event", "max queued", "lost"],
      r.write.map((w) => [
        num(w.rate),
        num(w.eventsPerSecond),
        String(w.cpuMicrosPerEvent),
        num(w.maxQueued),
        num(w.lost),
      ]),
    )}`,
    `### Embedded history: ${num(r.size.events)} stored events\n\n${markdownTable(
      ["figure", "value", "target"],
      [
        ["bytes on disk per event, indexes and checkpoints included", String(r.size.bytesPerEvent), "< 120"],
        ["file size, MiB", num(r.size.bytes / 2 ** 20, 1), ""],
        [
          "direct write (decode + one transaction per 5,000), events/s",
          num(r.size.directWriteEventsPerSecond),
          "",
        ],
        ["direct write, CPU µs/event", String(r.size.directWriteCpuMicrosPerEvent), ""],
        [`active?at (${q.activeCount} sessions), ms`, ms(q.active as never), "< 200"],
        ["usage, one day by app (hour buckets), ms", ms(q.usageDayByApp as never), "< 200"],
        ["usage, one day by browser, ms", ms(q.usageDayByBrowser as never), "< 200"],
        ["usage, one day by browserVersion, ms", ms(q.usageDayByBrowserVersion as never), "< 200"],
        ["usage, one day by osVersion, ms", ms(q.usageDayByOsVersion as never), "< 200"],
        [
          `usage, one day (100,000 events, 10,000 agents) in a file of ${num(r.agents.count)} agents: browser / browserVersion / osVersion, ms`,
          `${ms(r.agents.browser)} / ${ms(r.agents.browserVersion)} / ${ms(r.agents.osVersion)}`,
          "",
        ],
        ["concurrency, one day, 5 m, ms", ms(q.concurrencyDay5m as never), "< 200"],
        ["floor: reading that day's rows (4 integer columns), ms", ms(q.readDayRows as never), ""],
        ["events page (100, last day), ms", ms(q.eventsPage100 as never), ""],
        ["events page for one user (10 days), ms", ms(q.eventsPageUser as never), ""],
      ],
    )}`,
  ];
  if (r.exportUnderLoad) {
    parts.push(
      `### Embedded history: ingest with and without a whole-file CSV export\n\n${markdownTable(
        [
          "export",
          "sent /s",
          "sent",
          "kernel drops",
          "queue_full",
          "lost",
          "exported rows",
          "MiB",
          "export s",
        ],
        r.exportUnderLoad.map((x) => [
          x.export ? "yes" : "no",
          num(x.ingestRate),
          num(x.sent),
          num(x.kernelDrops),
          num(x.queueFull),
          num(x.lost),
          num(x.exportedRows),
          String(x.exportMiB),
          String(x.exportSeconds),
        ]),
      )}`,
    );
  }
  return parts.join("\n\n");
}

/** The service on the file receives datagrams at the ingest rate while the whole file is exported as CSV. */
async function exportUnderLoad(file: string) {
  const rate = Number(args["ingest-rate"]);
  const udpPort = await freeUdpPort();
  const apiPort = await freeUdpPort();
  const config = join(dir, "config.yaml");
  writeFileSync(
    config,
    `Butler-SOS:\n  logLevel: warn\n  userEvents:\n    enable: true\n    udpServerConfig:\n      serverHost: 127.0.0.1\n      portUserActivityEvents: ${udpPort}\nsense-events:\n  api: { port: ${apiPort} }\n  outbox: { path: "" }\n  history: { path: ${JSON.stringify(file)} }\n`,
  );
  const child = Bun.spawn([process.execPath, join(ROOT, "src/main.ts"), "run", "-c", config], {
    stdout: "ignore",
    stderr: "inherit",
  });
  const api = `http://127.0.0.1:${apiPort}`;
  try {
    for (let i = 0; i < 3000; i++) {
      if ((await fetch(`${api}/health`).catch(() => null))?.status === 200) break;
      await Bun.sleep(10);
    }
    const sender = buildCSender() ? "c-sendmmsg" : "bun-sendMany";
    const datagrams = writeDatagramFile("history", 4000);
    const seconds = Number(args["ingest-seconds"]);
    interface Stats {
      datagrams: { received: number; accepted: number; dropped: { queue_full: number } };
      udp: { kernelRcvbufErrors: number | null };
      history: { events: number };
      destinations: Record<string, { queued: { memory: number; spool: number } }>;
    }
    const stats = async () => (await (await fetch(`${api}/api/stats`)).json()) as Stats;
    /** Sends at the ingest rate for `seconds`, with or without a whole-file CSV export at the same time. */
    async function round(withExport: boolean) {
      const before = await stats();
      log(`${withExport ? "with" : "without"} export: ${rate}/s for ${seconds} s (${sender})`);
      const sending = send(sender, udpPort, datagrams, rate * seconds, rate, seconds + 5);
      let exported = { rows: 0, mib: 0, seconds: 0 };
      if (withExport) {
        const t0 = performance.now();
        const response = await fetch(`${api}/api/history/events?format=csv&from=0&to=${Date.now()}`);
        let bytes = 0;
        let lines = 0;
        const reader = (response.body as ReadableStream<Uint8Array>).getReader();
        for (;;) {
          const { done, value } = await reader.read();
          if (done) break;
          bytes += value.byteLength;
          for (let at = value.indexOf(10); at !== -1; at = value.indexOf(10, at + 1)) lines++;
        }
        exported = {
          rows: lines - 1,
          mib: Number((bytes / 2 ** 20).toFixed(1)),
          seconds: Number(((performance.now() - t0) / 1000).toFixed(1)),
        };
      }
      const sent = (await sending).sent;
      let after = await stats();
      for (let i = 0; i < 600; i++) {
        const q = after.destinations.history?.queued;
        if (after.history.events - before.history.events >= sent || (q && q.memory + q.spool === 0 && i > 20))
          break;
        await Bun.sleep(100);
        after = await stats();
      }
      const added = after.history.events - before.history.events;
      return {
        export: withExport,
        ingestRate: rate,
        sent,
        received: after.datagrams.received - before.datagrams.received,
        kernelDrops: (after.udp.kernelRcvbufErrors ?? 0) - (before.udp.kernelRcvbufErrors ?? 0),
        queueFull: after.datagrams.dropped.queue_full - before.datagrams.dropped.queue_full,
        historyAdded: added,
        lost: sent - added,
        exportedRows: exported.rows,
        exportMiB: exported.mib,
        exportSeconds: exported.seconds,
      };
    }
    const without = await round(false);
    log(JSON.stringify(without));
    const withExport = await round(true);
    log(JSON.stringify(withExport));
    return [without, withExport];
  } finally {
    child.kill("SIGTERM");
    await child.exited;
  }
}
