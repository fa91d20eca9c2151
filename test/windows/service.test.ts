/**
 * `sense-events service` on Windows, under Wine's service manager: the whole cycle an administrator
 * runs (reference §21), with the NSSM embedded in the Windows executable.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { existsSync, linkSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { numberedDatagram } from "../support/e2e.ts";
import { freePort, type InfluxServer, startInfluxdb } from "../support/influxdb.ts";
import { freeUdpPort, getJson, sendUdp, waitFor } from "../support/process.ts";
import { startWinePrefix, type WinePrefix, type WineResult, windowsExecutable } from "../support/wine.ts";

const NAME = "sense-events-wine";
const DB = "sense_events_service";
const EXE = "C:\\Program Files\\sense-events\\sense-events.exe";
const CONFIG = "C:\\ProgramData\\sense-events\\config.yaml";
const SHUTDOWN_TIMEOUT_MS = 3000;

let wine: WinePrefix;
let influx: InfluxServer;
let apiUrl: string;
let udpPort: number;

beforeAll(async () => {
  let exe: string;
  [exe, wine, influx] = await Promise.all([windowsExecutable(), startWinePrefix(), startInfluxdb()]);
  mkdirSync(wine.driveC("Program Files/sense-events"), { recursive: true });
  linkSync(exe, wine.driveC("Program Files/sense-events/sense-events.exe"));
  mkdirSync(wine.driveC("ProgramData/sense-events"), { recursive: true });
  udpPort = await freeUdpPort();
  const api = await freePort();
  apiUrl = `http://127.0.0.1:${api}`;
  const lines = [
    "Butler-SOS:",
    "  userEvents:",
    "    udpServerConfig:",
    "      serverHost: 127.0.0.1",
    `      portUserActivityEvents: ${udpPort}`,
    "    sendToInfluxdb:",
    "      enable: true",
    "  influxdbConfig:",
    "    enable: true",
    "    host: 127.0.0.1",
    `    port: ${influx.port}`,
    "    version: 1",
    "    v1Config:",
    `      dbName: ${DB}`,
    "sense-events:",
    "  api:",
    `    port: ${api}`,
    "  outbox:",
    "    path: spool\\outbox.sqlite",
    `    shutdownTimeoutMs: ${SHUTDOWN_TIMEOUT_MS}`,
    "  influxdb:",
    // Only the graceful stop writes the events: the batch timer never fires during the test.
    "    flushIntervalMs: 600000",
  ];
  writeFileSync(wine.driveC("ProgramData/sense-events/config.yaml"), `\uFEFF${lines.join("\r\n")}\r\n`);
}, 240_000);

afterAll(async () => {
  // An auto-start service would start again with the next Wine start of this prefix.
  if (wine) await wine.run(["sc", "delete", NAME]).catch(() => {});
  await wine?.close();
  await influx?.close();
});

function service(...args: string[]): Promise<WineResult> {
  return wine.run([EXE, "service", ...args, "--name", NAME], 90_000);
}

async function status(): Promise<{ code: number; stdout: string }> {
  const result = await service("status");
  return { code: result.code, stdout: result.stdout.trim() };
}

async function stored(): Promise<number> {
  const result = await influx.query("SELECT count(userId) FROM user_events", DB);
  return Number(result.results?.[0]?.series?.[0]?.values?.[0]?.[1] ?? 0);
}

test("status of a service that is not installed prints it and exits 4", async () => {
  expect(await status()).toStrictEqual({ code: 4, stdout: `${NAME}: not installed` });
});

/** The values of one registry key as `reg query` prints them: `name REG_TYPE data`. */
async function registry(key: string): Promise<Record<string, string>> {
  const { stdout } = await wine.run(["reg", "query", key]);
  const values: Record<string, string> = {};
  for (const m of stdout.matchAll(/^\s+(\S+)\s+REG_\w+\s+(.*?)\s*$/gm))
    values[m[1] as string] = m[2] as string;
  return values;
}

const SERVICE_KEY = `HKLM\\SYSTEM\\CurrentControlSet\\Services\\${NAME}`;

// Wine 8's sc.exe has no `qc`: the service manager's view is `sc query` and the service's registry key.
test("install registers an automatic-start NSSM service that the service manager sees", async () => {
  const installed = await service("install", "-c", CONFIG);
  expect(installed.stderr).toBe("");
  expect(installed.code).toBe(0);
  expect(installed.stdout).toContain(`Installed service "${NAME}"`);
  expect(installed.stdout).toContain(
    `netsh advfirewall firewall add rule name="sense-events UDP ${udpPort}" dir=in action=allow protocol=UDP localport=${udpPort}`,
  );
  expect(existsSync(wine.driveC("Program Files/sense-events/nssm.exe"))).toBe(true);
  const query = await wine.run(["sc", "query", NAME]);
  expect(query.code).toBe(0);
  expect(query.stdout).toMatch(/STATE\s+:\s+1\s+STOPPED/);
  const key = await registry(SERVICE_KEY);
  expect({ Start: key.Start, ImagePath: key.ImagePath, Description: key.Description }).toStrictEqual({
    Start: "0x2",
    ImagePath: "C:\\Program Files\\sense-events\\nssm.exe",
    Description: "Receives Qlik Sense user events over UDP and forwards them (sense-events).",
  });
});

test("install stores the production settings in NSSM's registry parameters", async () => {
  const parameters = await registry(`${SERVICE_KEY}\\Parameters`);
  const value = (name: string) => parameters[name];
  expect({
    Application: value("Application"),
    AppParameters: value("AppParameters"),
    AppDirectory: value("AppDirectory"),
    AppStdout: value("AppStdout"),
    AppStopMethodConsole: Number(value("AppStopMethodConsole")),
    AppRotateOnline: Number(value("AppRotateOnline")),
    AppRotateBytes: Number(value("AppRotateBytes")),
    AppExit: (await registry(`${SERVICE_KEY}\\Parameters\\AppExit`))["(Default)"],
  }).toStrictEqual({
    Application: EXE,
    AppParameters: `run -c "${CONFIG}"`,
    AppDirectory: "C:\\ProgramData\\sense-events",
    AppStdout: "C:\\ProgramData\\sense-events\\logs\\sense-events.log",
    AppStopMethodConsole: SHUTDOWN_TIMEOUT_MS + 10_000,
    AppRotateOnline: 1,
    AppRotateBytes: 10 * 1024 * 1024,
    AppExit: "Restart",
  });
});

test("install refuses a name that exists", async () => {
  const again = await service("install", "-c", CONFIG);
  expect(again.code).toBe(1);
  expect(again.stderr).toContain(`a service named "${NAME}" already exists`);
});

test("status of the installed, stopped service exits 3", async () => {
  expect(await status()).toStrictEqual({ code: 3, stdout: `${NAME}: stopped` });
});

test("start runs the receiver: /health is ok and events from Linux arrive", async () => {
  const started = await service("start");
  expect({ code: started.code, stderr: started.stderr }).toStrictEqual({ code: 0, stderr: "" });
  const health = await waitFor("/health", () => getJson(`${apiUrl}/health`).catch(() => undefined), 60_000);
  expect(health.status).toBe("ok");
  await sendUdp(
    udpPort,
    Array.from({ length: 25 }, (_, i) => numberedDatagram(i)),
  );
  await waitFor(
    "25 datagrams",
    async () => {
      const stats = await getJson(`${apiUrl}/api/stats`);
      return stats.datagrams.received >= 25 ? true : undefined;
    },
    30_000,
  );
  expect(await status()).toStrictEqual({ code: 0, stdout: `${NAME}: running` });
});

test("stop is graceful: the shutdown is logged in logs\\sense-events.log and the outbox flushed", async () => {
  expect(await stored()).toBe(0);
  const stopped = await service("stop");
  expect({ code: stopped.code, stderr: stopped.stderr }).toStrictEqual({ code: 0, stderr: "" });
  expect(await stored()).toBe(25);
  const log = readFileSync(wine.driveC("ProgramData/sense-events/logs/sense-events.log"), "utf8");
  expect(log).toContain(`starting with ${CONFIG}`);
  expect(log).toContain("[main] SIGINT received: shutting down");
  expect(log).toContain("[main] shutdown complete");
  expect(await status()).toStrictEqual({ code: 3, stdout: `${NAME}: stopped` });
});

test("uninstall removes the service: the service manager no longer knows it", async () => {
  const removed = await service("uninstall");
  expect({ code: removed.code, stderr: removed.stderr }).toStrictEqual({ code: 0, stderr: "" });
  expect((await wine.run(["sc", "query", NAME])).code).not.toBe(0);
  expect(await status()).toStrictEqual({ code: 4, stdout: `${NAME}: not installed` });
});
