import { afterEach } from "bun:test";
import { createSocket } from "node:dgram";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { connect } from "mqtt";
import { stringify } from "yaml";
import type { StatsSnapshot } from "../../src/stats.ts";
import { freePort } from "./influxdb.ts";

/** Repository root, so the receiver is spawned from the right directory whatever the cwd. */
const ROOT = resolve(import.meta.dir, "../..");

/** A free UDP port on 127.0.0.1 (bound to port 0 and released). */
export function freeUdpPort(): Promise<number> {
  return new Promise((done, fail) => {
    const socket = createSocket("udp4");
    socket.once("error", fail);
    socket.bind(0, "127.0.0.1", () => {
      const { port } = socket.address();
      socket.close(() => done(port));
    });
  });
}

/** Options for {@link writeE2eConfig}. */
export interface E2eConfigOptions {
  /** Real influxd port (v1 with `dbName`), or a stand-in `{ port, version: 2 }`. */
  influx?: { port: number; version?: 1 | 2; dbName?: string; maxBatchSize?: number };
  /** Real mosquitto port; `allTopics` enables every postTo topic, otherwise only the everything topic. */
  mqtt?: { port: number; allTopics?: boolean };
  /** Event counts and ingest metrics every `writeFrequency` ms. */
  metricsEveryMs?: number;
  /** `sense-events.outbox` overrides. */
  outbox?: { memoryItems?: number; maxBytes?: number; shutdownTimeoutMs?: number; path?: string };
  /** `userEvents.tags`. */
  tags?: { name: string; value: string }[];
  /** `sense-events.history` overrides. */
  history?: { path?: string; enable?: boolean };
}

/** A config file in its own temp directory, with the ports the receiver will use. */
export interface E2eConfig {
  dir: string;
  file: string;
  udpPort: number;
  apiPort: number;
  /** Removes the directory (config and spool). */
  remove(): void;
}

/** The database name used by every e2e config. */
export const E2E_DB = "sense_events_e2e";

/** Writes a Butler SOS-layout YAML config pointing at real local services; the spool sits beside it. */
export async function writeE2eConfig(options: E2eConfigOptions): Promise<E2eConfig> {
  const dir = mkdtempSync(join(tmpdir(), "sense-events-e2e-"));
  const file = join(dir, "config.yaml");
  const udpPort = await freeUdpPort();
  const apiPort = await freePort();
  const influx = options.influx;
  const mqtt = options.mqtt;
  const topic = (name: string, enable: boolean) => ({ enable, topic: name });
  const metrics = options.metricsEveryMs;
  const config = {
    "Butler-SOS": {
      logLevel: "info",
      userEvents: {
        enable: true,
        udpServerConfig: {
          serverHost: "127.0.0.1",
          portUserActivityEvents: udpPort,
          queueMetrics: { influxdb: { enable: metrics !== undefined, writeFrequency: metrics ?? 20000 } },
        },
        tags: options.tags ?? [],
        sendToMQTT: {
          enable: mqtt !== undefined,
          postTo: {
            everythingTopic: topic("qliksense/userevent", true),
            sessionStartTopic: topic("qliksense/userevent/session/start", mqtt?.allTopics ?? false),
            sessionStopTopic: topic("qliksense/userevent/session/stop", mqtt?.allTopics ?? false),
            connectionOpenTopic: topic("qliksense/userevent/connection/open", mqtt?.allTopics ?? false),
            connectionCloseTopic: topic("qliksense/userevent/connection/close", mqtt?.allTopics ?? false),
          },
        },
        sendToInfluxdb: { enable: influx !== undefined },
      },
      qlikSenseEvents: {
        influxdb: { enable: metrics !== undefined, writeFrequency: metrics ?? 20000 },
        eventCount: { enable: metrics !== undefined, influxdb: { measurementName: "event_count" } },
      },
      mqttConfig: {
        enable: mqtt !== undefined,
        brokerHost: "127.0.0.1",
        brokerPort: mqtt?.port ?? 1883,
        qos: 1,
      },
      influxdbConfig: {
        enable: influx !== undefined,
        host: "127.0.0.1",
        port: influx?.port ?? 8086,
        version: influx?.version ?? 1,
        maxBatchSize: influx?.maxBatchSize ?? 1000,
        v1Config: { dbName: influx?.dbName ?? E2E_DB, auth: { enable: false } },
        v2Config: { org: "e2e", bucket: E2E_DB, token: "e2e-token" },
      },
    },
    "sense-events": {
      api: { host: "127.0.0.1", port: apiPort },
      outbox: { path: "outbox.sqlite", ...options.outbox },
      influxdb: { flushIntervalMs: 200 },
      ...(options.history ? { history: options.history } : {}),
    },
  };
  writeFileSync(file, stringify(config));
  return { dir, file, udpPort, apiPort, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** A spawned `sense-events run -c FILE` process. */
export interface Receiver {
  apiUrl: string;
  /** Resolves with the exit code. */
  exited: Promise<number>;
  /** `/api/stats` body. */
  stats(): Promise<StatsSnapshot>;
  /** Sends a signal (SIGTERM, SIGKILL, ...). */
  kill(signal: NodeJS.Signals): void;
  /** Everything the process wrote to stdout and stderr so far. */
  output(): string;
}

/** Spawns the receiver with the real CLI and waits until `/health` answers. */
export async function spawnReceiver(config: E2eConfig): Promise<Receiver> {
  const proc = Bun.spawn([process.execPath, "src/main.ts", "run", "-c", config.file], {
    cwd: ROOT,
    stdout: "pipe",
    stderr: "pipe",
  });
  let text = "";
  const pump = async (stream: ReadableStream<Uint8Array>) => {
    const decoder = new TextDecoder();
    for await (const chunk of stream) text += decoder.decode(chunk, { stream: true });
  };
  const pumped = Promise.all([pump(proc.stdout), pump(proc.stderr)]);
  const exited = proc.exited.then(async (code) => {
    await pumped;
    return code;
  });
  const apiUrl = `http://127.0.0.1:${config.apiPort}`;
  const receiver: Receiver = {
    apiUrl,
    exited,
    async stats() {
      const res = await fetch(`${apiUrl}/api/stats`);
      return (await res.json()) as StatsSnapshot;
    },
    kill: (signal) => proc.kill(signal),
    output: () => text,
  };
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    if (proc.exitCode !== null) throw new Error(`[e2e] receiver exited with ${proc.exitCode}:\n${text}`);
    try {
      const res = await fetch(`${apiUrl}/health`);
      await res.body?.cancel();
      return receiver;
    } catch {
      await Bun.sleep(50);
    }
  }
  proc.kill("SIGKILL");
  throw new Error(`[e2e] receiver did not answer /health within 20 s:\n${text}`);
}

/** A Start session datagram for user `E2E\u<n>`, so every event is identifiable by its userId. */
export function numberedDatagram(n: number): string {
  return `/qseow-proxy-session/;e2e-host;Start session;E2E;u${n};AppAccess;/;Start session for user 'E2E\\u${n}'`;
}

/** Sends datagrams `numberedDatagram(from)` .. `numberedDatagram(to - 1)` at `perSecond`, in 10 ms ticks. */
export async function sendNumbered(
  port: number,
  from: number,
  to: number,
  perSecond: number,
  datagram: (n: number) => string = numberedDatagram,
): Promise<number> {
  const socket = createSocket("udp4");
  const start = performance.now();
  let n = from;
  try {
    while (n < to) {
      const due = from + Math.floor(((performance.now() - start) / 1000) * perSecond) + 1;
      while (n < Math.min(due, to)) {
        const bytes = Buffer.from(datagram(n));
        await new Promise<void>((done, fail) =>
          socket.send(bytes, port, "127.0.0.1", (error) => (error ? fail(error) : done())),
        );
        n++;
      }
      if (n < to) await Bun.sleep(10);
    }
  } finally {
    socket.close();
  }
  return n - from;
}

/** One received MQTT message. */
export interface MqttMessage {
  topic: string;
  payload: Record<string, unknown>;
  /** The broker's DUP flag: a QoS 1 redelivery to this subscriber (not a second publish). */
  dup: boolean;
}

/** A subscriber on `qliksense/#` that keeps every message and counts them per userId. */
export interface MqttCounter {
  messages: MqttMessage[];
  /** Messages per userId on `topic`. */
  countsById(topic: string): Map<string, number>;
  close(): Promise<void>;
}

/**
 * Subscribes at QoS 1 to `qliksense/#` with a persistent session (`clean: false`), so that with
 * {@link startPersistentMosquitto} messages published while the subscriber reconnects are queued for it.
 */
export async function subscribeCounter(port: number): Promise<MqttCounter> {
  const client = connect({
    host: "127.0.0.1",
    port,
    clientId: `e2e-sub-${crypto.randomUUID().slice(0, 8)}`,
    reconnectPeriod: 200,
    clean: false,
  });
  const messages: MqttMessage[] = [];
  client.on("message", (topic, payload, packet) => {
    messages.push({
      topic,
      payload: JSON.parse(payload.toString()) as Record<string, unknown>,
      dup: packet.dup,
    });
  });
  // Resubscribe after every (re)connect: a non-persistent broker forgets subscriptions on restart.
  const subscribed = new Promise<void>((done, fail) => {
    client.on("connect", () =>
      client.subscribe("qliksense/#", { qos: 1 }, (error) => (error ? fail(error) : done())),
    );
  });
  await subscribed;
  return {
    messages,
    countsById(topic) {
      const counts = new Map<string, number>();
      for (const m of messages) {
        if (m.topic !== topic) continue;
        const id = String(m.payload.userId);
        counts.set(id, (counts.get(id) ?? 0) + 1);
      }
      return counts;
    },
    close: () => client.endAsync(true),
  };
}

/** Reads one InfluxQL count (the first value column of the first row), 0 when there is no series. */
export function firstValue(result: { results?: { series?: { values?: unknown[][] }[] }[] }): number {
  return Number(result.results?.[0]?.series?.[0]?.values?.[0]?.[1] ?? 0);
}

/** The one polling helper, also exported here for e2e files that import it with the other e2e helpers. */
export { waitFor } from "./wait.ts";

/** The receivers and configs of one test file; {@link receiverPool} kills and removes them after each test. */
export interface ReceiverPool {
  readonly receivers: Receiver[];
  readonly configs: E2eConfig[];
  /** Spawns a receiver on `config` and keeps it for the cleanup. */
  start(config: E2eConfig): Promise<Receiver>;
}

/** Creates a pool and registers its `afterEach`: SIGKILL every receiver, then remove every config. */
export function receiverPool(): ReceiverPool {
  const receivers: Receiver[] = [];
  const configs: E2eConfig[] = [];
  afterEach(async () => {
    for (const receiver of receivers.splice(0)) {
      receiver.kill("SIGKILL");
      await receiver.exited;
    }
    for (const config of configs.splice(0)) config.remove();
  });
  return {
    receivers,
    configs,
    async start(config) {
      const receiver = await spawnReceiver(config);
      receivers.push(receiver);
      return receiver;
    },
  };
}
