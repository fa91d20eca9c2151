/**
 * In-process CPU cost per event of what the main thread does for one event delivered to InfluxDB and MQTT,
 * with the real modules of a source tree: parse + enrich + ring + sessions, both destinations' `serialize`,
 * the outbox's byte count per item, and their real `send` in batches (InfluxDB: join + gzip + a fetch answered
 * 204 in process; MQTT QoS 0: the PUBLISH encoding + a socket write that is dropped). No network, no other
 * process, so the figure moves little with the machine's load. `--root` picks the tree to measure, so two
 * builds can be compared in one sitting. Prints one JSON object.
 *
 *   bun scripts/bench/delivery-path.ts [--root=.] [--events=200000] [--rounds=5]
 */
import { EventEmitter } from "node:events";
import { resolve } from "node:path";

const args = new Map(
  process.argv.slice(2).map((a) => {
    const [k, ...v] = a.replace(/^--/, "").split("=");
    return [k ?? "", v.length > 0 ? v.join("=") : "true"] as const;
  }),
);
const root = resolve(import.meta.dir, "../..", args.get("root") ?? ".");
const events = Number(args.get("events") ?? 200_000);
const rounds = Number(args.get("rounds") ?? 5);

const { testDatagram } = await import(`${root}/src/cli/send-test-events.ts`);
const { influxDestination } = await import(`${root}/src/destinations/influxdb.ts`);
const { mqttDestination } = await import(`${root}/src/destinations/mqtt.ts`);
const { EventRing } = await import(`${root}/src/events/ring.ts`);
const { createSessionTracker } = await import(`${root}/src/events/sessions.ts`);
const { createProcessor } = await import(`${root}/src/ingest/process.ts`);
const { createUserAgentParser } = await import(`${root}/src/ingest/user-agent.ts`);
const { silentLogger } = await import(`${root}/src/log.ts`);

type Destination = { serialize(d: unknown): string[]; send(items: string[]): Promise<{ kind: string }> };

/** An mqtt.js client stand-in: connects at once, and its socket takes every write without sending it. */
function fakeConnect() {
  const client = new EventEmitter() as EventEmitter & Record<string, unknown>;
  client.connected = true;
  client.stream = { write: (_b: Uint8Array, done: () => void) => queueMicrotask(done), destroy() {} };
  client.end = (_force?: boolean, _o?: unknown, done?: () => void) => done?.();
  queueMicrotask(() => client.emit("connect", {}));
  return client;
}

const influx = influxDestination({
  version: 1,
  host: "127.0.0.1",
  port: 8086,
  useHttps: false,
  maxBatchSize: 5000,
  flushIntervalMs: 1000,
  v1: {
    dbName: "bench",
    auth: { enable: false, username: "", password: "" },
    retentionPolicy: { name: "autogen", duration: "0s" },
  },
  uaTagPrefix: "qs_",
  tags: [],
  fetch: async (_url: unknown, init?: { body?: unknown }) => {
    if (!init?.body) throw new Error("[delivery-path] empty write");
    return new Response(null, { status: 204 });
  },
  log: silentLogger,
}) as Destination;
const mqtt = mqttDestination({
  brokerHost: "127.0.0.1",
  brokerPort: 1883,
  tls: { enable: false, rejectUnauthorized: true },
  qos: 0,
  retain: false,
  protocolVersion: 4,
  topics: {
    everythingTopic: "qliksense/userevent",
    sessionStartTopic: "qliksense/session_start",
    sessionStopTopic: "qliksense/session_stop",
    connectionOpenTopic: "qliksense/connection_open",
    connectionCloseTopic: "qliksense/connection_close",
  },
  tags: [],
  log: silentLogger,
  connect: fakeConnect as never,
}) as Destination;

const encoder = new TextEncoder();
const datagrams = Array.from({ length: 4000 }, (_, i) => encoder.encode(testDatagram(i)));

/** One pass over `events` datagrams; returns CPU µs per event. */
async function pass(): Promise<number> {
  const processor = createProcessor({
    appName: () => undefined,
    userAgents: createUserAgentParser(1000),
    isExcluded: () => false,
  });
  const ring = new EventRing(10_000);
  const sessions = createSessionTracker({ idleTimeoutMinutes: 30 });
  let lines: string[] = [];
  let publishes: string[] = [];
  let bytes = 0;
  const cpu0 = process.cpuUsage();
  for (let i = 0; i < events; i++) {
    const result = processor.process(datagrams[i % 4000], "127.0.0.1", Date.now());
    if (result.kind !== "accepted") throw new Error(`[delivery-path] not accepted: ${result.kind}`);
    ring.push(result.deliverable.event);
    sessions.update(result.deliverable.event);
    for (const item of influx.serialize(result.deliverable)) {
      bytes += Buffer.byteLength(item);
      lines.push(item);
    }
    for (const item of mqtt.serialize(result.deliverable)) {
      bytes += Buffer.byteLength(item);
      publishes.push(item);
    }
    if (lines.length >= 5000) {
      if ((await influx.send(lines)).kind !== "ok") throw new Error("[delivery-path] influx send failed");
      lines = [];
    }
    if (publishes.length >= 2000) {
      if ((await mqtt.send(publishes)).kind !== "ok") throw new Error("[delivery-path] mqtt send failed");
      publishes = [];
    }
  }
  const cpu = process.cpuUsage(cpu0);
  if (bytes <= 0) throw new Error("[delivery-path] nothing serialised");
  return (cpu.user + cpu.system) / events;
}

await pass(); // JIT warm-up
const samples: number[] = [];
for (let r = 0; r < rounds; r++) samples.push(await pass());
samples.sort((a, b) => a - b);
console.log(
  JSON.stringify({
    root,
    events,
    cpuUsPerEvent: samples.map((s) => Number(s.toFixed(2))),
    median: Number((samples[samples.length >> 1] as number).toFixed(2)),
  }),
);
