/**
 * Runs sense-events for scripts/bench.ts: writes a Butler SOS-layout config (reference §14) on free loopback
 * ports, starts the compiled binary (or `bun src/main.ts`), waits for `/health` 200 and reads `/api/stats`
 * and `/proc/<pid>/status`.
 */
import dgram from "node:dgram";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "../../test/support/influxdb.ts";

/** What the bench configures; destinations are off unless given. */
export interface AppConfig {
  capacity?: number;
  /** `sense-events.udp.receiveBufferBytes`; the app default (8 MiB) when absent. */
  receiveBufferBytes?: number;
  influx?: { port: number; dbName: string; maxBatchSize: number; flushIntervalMs?: number };
  mqtt?: { port: number };
  /** `sense-events.history.enable`; the app default (on) when absent. */
  history?: boolean;
}

/** A running sense-events process. */
export interface App {
  pid: number;
  udpPort: number;
  api: string;
  /** Milliseconds from spawn to the first `/health` 200. */
  startupMs: number;
  stats(): Promise<AppStats>;
  /** VmRSS in bytes. */
  rss(): number;
  close(): Promise<void>;
}

/** The parts of `/api/stats` (reference §13) the bench reads. */
export interface AppStats {
  datagrams: { received: number; accepted: number };
  events: { stored: number; capacity: number };
  udp: { receiveBufferEffective: number | null; kernelRcvbufErrors: number | null };
  destinations: Record<string, { sent: number; queued: { memory: number; spool: number }; state: string }>;
}

/** A free UDP port on 127.0.0.1 (bind port 0, read it, release it). */
export async function freeUdpPort(): Promise<number> {
  const socket = dgram.createSocket("udp4");
  await new Promise<void>((resolve) => socket.bind(0, "127.0.0.1", resolve));
  const { port } = socket.address();
  await new Promise<void>((resolve) => socket.close(resolve));
  return port;
}

/** Renders the YAML config (reference §14.2, §14.3). */
export function configYaml(c: AppConfig, udpPort: number, apiPort: number, outbox: string): string {
  const influx = c.influx;
  const mqtt = c.mqtt;
  return `Butler-SOS:
  logLevel: warn
  userEvents:
    enable: true
    udpServerConfig:
      serverHost: 127.0.0.1
      portUserActivityEvents: ${udpPort}
    sendToMQTT:
      enable: ${mqtt ? "true" : "false"}
    sendToInfluxdb:
      enable: true
  mqttConfig:
    enable: ${mqtt ? "true" : "false"}
    brokerHost: 127.0.0.1
    brokerPort: ${mqtt?.port ?? 1883}
  influxdbConfig:
    enable: ${influx ? "true" : "false"}
    host: 127.0.0.1
    port: ${influx?.port ?? 8086}
    version: 1
    maxBatchSize: ${influx?.maxBatchSize ?? 1000}
    v1Config:
      dbName: ${influx?.dbName ?? "senseops"}
      retentionPolicy:
        name: autogen
        duration: 0s
sense-events:
  api:
    host: 127.0.0.1
    port: ${apiPort}
  events:
    capacity: ${c.capacity ?? 10000}
${c.history === false ? "  history:\n    enable: false\n" : ""}${c.receiveBufferBytes ? `  udp:\n    receiveBufferBytes: ${c.receiveBufferBytes}\n` : ""}  outbox:
    path: ${JSON.stringify(outbox)}
  influxdb:
    flushIntervalMs: ${influx?.flushIntervalMs ?? 1000}
`;
}

function vmRss(pid: number): number {
  const match = /VmRSS:\s+(\d+)\s+kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return match ? Number(match[1]) * 1024 : Number.NaN;
}

/**
 * Starts `command` (the binary, or `[bun, src/main.ts]`) with `run -c <file>` and waits for `/health` 200,
 * polling every 2 ms for at most 15 s.
 */
export async function startApp(command: string[], config: AppConfig): Promise<App> {
  const dir = mkdtempSync(join(tmpdir(), "sense-events-bench-"));
  const udpPort = await freeUdpPort();
  const apiPort = await freePort();
  const file = join(dir, "config.yaml");
  writeFileSync(file, configYaml(config, udpPort, apiPort, join(dir, "outbox.sqlite")));
  const api = `http://127.0.0.1:${apiPort}`;
  const started = performance.now();
  const child = Bun.spawn([...command, "run", "-c", file], { stdout: "ignore", stderr: "pipe" });
  const deadline = started + 15_000;
  let startupMs = Number.NaN;
  while (performance.now() < deadline && child.exitCode === null) {
    try {
      const res = await fetch(`${api}/health`);
      if (res.status === 200) {
        startupMs = performance.now() - started;
        break;
      }
    } catch {
      // not listening yet
    }
    await Bun.sleep(2);
  }
  if (Number.isNaN(startupMs)) {
    child.kill("SIGKILL");
    const stderr = await new Response(child.stderr).text();
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`[bench] sense-events did not answer /health 200: ${stderr.slice(-2000)}`);
  }
  return {
    pid: child.pid,
    udpPort,
    api,
    startupMs,
    async stats() {
      return (await (await fetch(`${api}/api/stats`)).json()) as AppStats;
    },
    rss: () => vmRss(child.pid),
    async close() {
      if (child.exitCode === null) {
        child.kill("SIGTERM");
        const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
        await child.exited;
        clearTimeout(timer);
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Starts the bare-socket baseline (scripts/bench/bare-receiver.ts) as its own process. */
export async function startBareReceiver(receiveBufferBytes = 8 * 1024 * 1024): Promise<{
  udpPort: number;
  count(): Promise<{ received: number; first: number; last: number }>;
  close(): Promise<void>;
}> {
  const { child, hello } = await spawnHelper<{ udpPort: number; httpPort: number }>(
    [process.execPath, join(import.meta.dir, "bare-receiver.ts"), String(receiveBufferBytes)],
    "bare receiver",
  );
  const { udpPort, httpPort } = hello;
  return {
    udpPort,
    count: async () => (await (await fetch(`http://127.0.0.1:${httpPort}/`)).json()) as never,
    async close() {
      child.kill("SIGTERM");
      await child.exited;
    },
  };
}

/** Spawns a helper process that prints one JSON line when ready (its ports); returns it parsed. */
export async function spawnHelper<T>(cmd: string[], name: string) {
  const child = Bun.spawn(cmd, { stdout: "pipe", stderr: "inherit" });
  const reader = child.stdout.getReader();
  let text = "";
  while (!text.includes("\n")) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`[bench] ${name} exited early`);
    text += new TextDecoder().decode(value);
  }
  reader.releaseLock();
  return { child, hello: JSON.parse(text) as T };
}
