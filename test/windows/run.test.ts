/**
 * The Windows executable under Wine, installed and configured the way a Windows administrator does
 * it: in C:\Program Files\sense-events\, with a config saved by Notepad (UTF-8 BOM, CRLF, backslash
 * paths) in C:\ProgramData\sense-events\, fed by Linux senders and read by Linux clients.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { existsSync, linkSync, mkdirSync, writeFileSync } from "node:fs";
import { firstValue, numberedDatagram } from "../support/e2e.ts";
import { freePort, type InfluxServer, startInfluxdb } from "../support/influxdb.ts";
import { freeUdpPort, getJson, sendUdp, waitFor } from "../support/process.ts";
import { startWinePrefix, type WinePrefix, type WineProcess, windowsExecutable } from "../support/wine.ts";

const DB = "sense_events_wine";
const EXE = "C:\\Program Files\\sense-events\\sense-events.exe";
const CONFIG = "C:\\ProgramData\\sense-events\\config.yaml";

let wine: WinePrefix;
let influx: InfluxServer;
let apiUrl: string;
let udpPort: number;
const running: WineProcess[] = [];

/** The config as Notepad saves it: BOM, CRLF, Windows paths with spaces and a spool folder not made yet. */
function windowsConfig(ports: { udp: number; api: number; influx: number }): string {
  const lines = [
    "# sense-events on Windows",
    "Butler-SOS:",
    "  userEvents:",
    "    enable: true",
    "    udpServerConfig:",
    "      serverHost: 127.0.0.1",
    `      portUserActivityEvents: ${ports.udp}`,
    "    sendToInfluxdb:",
    "      enable: true",
    "  influxdbConfig:",
    "    enable: true",
    "    host: 127.0.0.1",
    `    port: ${ports.influx}`,
    "    version: 1",
    "    v1Config:",
    `      dbName: ${DB}`,
    "      auth:",
    "        enable: false",
    "sense-events:",
    "  api:",
    "    host: 127.0.0.1",
    `    port: ${ports.api}`,
    "  outbox:",
    "    path: C:\\ProgramData\\sense-events\\new spool\\outbox.sqlite",
    "    shutdownTimeoutMs: 2000",
    "  influxdb:",
    // Events only reach InfluxDB early because of a flush, never because the batch timer fired.
    "    flushIntervalMs: 600000",
  ];
  return `\uFEFF${lines.join("\r\n")}\r\n`;
}

beforeAll(async () => {
  let exe: string;
  [exe, wine, influx] = await Promise.all([windowsExecutable(), startWinePrefix(), startInfluxdb()]);
  mkdirSync(wine.driveC("Program Files/sense-events"), { recursive: true });
  linkSync(exe, wine.driveC("Program Files/sense-events/sense-events.exe"));
  mkdirSync(wine.driveC("ProgramData/sense-events"), { recursive: true });
  udpPort = await freeUdpPort();
  const api = await freePort();
  apiUrl = `http://127.0.0.1:${api}`;
  writeFileSync(
    wine.driveC("ProgramData/sense-events/config.yaml"),
    windowsConfig({ udp: udpPort, api, influx: influx.port }),
  );
}, 240_000);

afterAll(async () => {
  await wine?.close();
  await influx?.close();
});

/** Starts the receiver under Wine and waits until `/health` answers. */
async function start(): Promise<WineProcess> {
  const proc = wine.spawn([EXE, "run", "-c", CONFIG]);
  running.push(proc);
  await proc.waitForLine(/\[api\] listening on /, 60_000);
  return proc;
}

/** Ctrl-C (Wine turns SIGINT into the console event NSSM sends) and the exit code. */
async function stop(proc: WineProcess): Promise<number> {
  proc.kill("SIGINT");
  const timer = setTimeout(() => proc.kill("SIGKILL"), 30_000);
  const code = await proc.exited;
  clearTimeout(timer);
  return code;
}

async function stored(): Promise<string[]> {
  const result = await influx.query("SELECT userId FROM user_events", DB);
  const values: unknown[][] = result.results?.[0]?.series?.[0]?.values ?? [];
  return values.map((row) => String(row[1])).sort();
}

const ids = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => `u${from + i}`).sort();

test("starts from Program Files with a BOM/CRLF config, creates the missing spool folder and is healthy", async () => {
  const proc = await start();
  const health = await getJson(`${apiUrl}/health`);
  expect({ status: health.status, udp: health.udp }).toStrictEqual({
    status: "ok",
    udp: { listening: true, address: `127.0.0.1:${udpPort}` },
  });
  expect(existsSync(wine.driveC("ProgramData/sense-events/new spool/outbox.sqlite"))).toBe(true);
  expect(proc.output()).toContain(`starting with ${CONFIG}`);
});

test("receives datagrams from a Linux sender and answers the API from a Linux client", async () => {
  await sendUdp(
    udpPort,
    ids(0, 20).map((_, i) => numberedDatagram(i)),
  );
  const { events } = await waitFor(
    "20 events in /api/events",
    async () => {
      const body = await getJson(`${apiUrl}/api/events?limit=100`);
      return body.events.length >= 20 ? body : undefined;
    },
    30_000,
  );
  expect(events.map((e: { userId: string }) => e.userId).sort()).toStrictEqual(ids(0, 20));
  expect(events[0]).toMatchObject({ userDirectory: "E2E", remoteAddress: "127.0.0.1", host: "e2e-host" });
  // Nothing is written yet: the batch timer is ten minutes.
  expect(await stored()).toStrictEqual([]);
});

test("Ctrl-C flushes the outbox to InfluxDB and logs the shutdown", async () => {
  const proc = running.at(-1) as WineProcess;
  expect(await stop(proc)).toBe(0);
  expect(proc.output()).toContain("[main] SIGINT received: shutting down");
  expect(proc.output()).toContain("[main] shutdown complete");
  expect(await stored()).toStrictEqual(ids(0, 20));
});

test("events spooled at a stop while InfluxDB is down are replayed after a restart", async () => {
  await influx.stop();
  const first = await start();
  await sendUdp(
    udpPort,
    ids(100, 110).map((_, i) => numberedDatagram(100 + i)),
  );
  await waitFor(
    "10 datagrams received",
    async () => {
      const stats = await getJson(`${apiUrl}/api/stats`);
      return stats.datagrams.received >= 10 ? true : undefined;
    },
    30_000,
  );
  expect(await stop(first)).toBe(0);
  expect(first.output()).not.toContain("lost");

  await influx.start();
  const second = await start();
  await waitFor(
    "30 rows in InfluxDB",
    async () => ((await stored()).length >= 30 ? true : undefined),
    30_000,
  );
  expect(await stored()).toStrictEqual([...ids(0, 20), ...ids(100, 110)].sort());
  expect(await stop(second)).toBe(0);
  const count = await influx.query("SELECT count(userId) FROM user_events", DB);
  expect(firstValue(count)).toBe(30);
});
