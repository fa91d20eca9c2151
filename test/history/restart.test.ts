import { afterEach, expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { loadConfigFile } from "../../src/config/load.ts";
import { silentLogger } from "../../src/log.ts";
import { type Service, startService } from "../../src/run/service.ts";
import {
  freeTcpPort,
  freeUdpPort,
  getJson,
  runConfig,
  sendUdp,
  type TempDir,
  tempDir,
  waitFor,
} from "../support/process.ts";

const APP = "a421f4a2-c311-4ef4-ba41-fe2e6a2b0d69";
const UA = "UserAgent: Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/119.0.0.0 Safari/537.36";
const datagram = (action: string, user: string, context = "/") =>
  `/qseow-proxy-${action.includes("session") ? "session" : "connection"}/;node1;${action};LAB;${user};AppAccess;${context};${UA}`;

const dirs: TempDir[] = [];
const services: Service[] = [];
afterEach(async () => {
  for (const s of services.splice(0)) await s.close();
  for (const d of dirs.splice(0)) d.cleanup();
});

/** Starts the service on `dir`'s config file, in process. */
async function start(dir: TempDir, ports: { udp: number; api: number }): Promise<Service> {
  const file = dir.write("config.yaml", runConfig(ports, { senseEvents: { events: { capacity: 100 } } }));
  const loaded = await loadConfigFile(file);
  if (!loaded.ok) throw new Error(JSON.stringify(loaded.errors));
  const service = await startService({ config: loaded.config, configFile: file, log: silentLogger });
  services.push(service);
  return service;
}

test("sessions, recent events and ids survive a restart on the same history file (reference §19)", async () => {
  const dir = tempDir("sense-events-history-");
  dirs.push(dir);
  const ports = { udp: await freeUdpPort(), api: await freeTcpPort() };
  let service = await start(dir, ports);
  const api = service.apiUrl as string;
  await sendUdp(ports.udp, [
    datagram("Start session", "anna"),
    datagram("Open connection", "anna", `/app/${APP}`),
    datagram("Start session", "bob"),
    datagram("Open connection", "bob", `/app/${APP}`),
    datagram("Close connection", "bob", `/app/${APP}`),
    datagram("Start session", "carl"),
    datagram("Stop session", "carl"),
  ]);
  await waitFor("7 stored events", async () => {
    const body = await getJson(`${api}/api/history/events`);
    return body.events.length === 7 ? body : undefined;
  });
  const before = {
    sessions: await getJson(`${api}/api/sessions`),
    events: await getJson(`${api}/api/events`),
    history: await getJson(`${api}/api/history/events`),
  };
  expect(before.sessions.count).toBe(2);
  expect(existsSync(join(dir.path, "sense-events-history.sqlite"))).toBe(true);
  await service.close();
  services.splice(0);

  service = await start(dir, ports);
  const after = {
    sessions: await getJson(`${api}/api/sessions`),
    events: await getJson(`${api}/api/events`),
    history: await getJson(`${api}/api/history/events`),
  };
  expect(after).toStrictEqual(before);
  expect(before.history.events).toStrictEqual(before.events.events);

  await sendUdp(ports.udp, [datagram("Close connection", "anna", `/app/${APP}`)]);
  const events = await waitFor("the eighth event", async () => {
    const body = await getJson(`${api}/api/events`);
    return body.events.length === 8 ? body.events : undefined;
  });
  expect(events[0].id).toBe(8);
  const anna = (await getJson(`${api}/api/sessions`)).sessions.find(
    (s: { userId: string }) => s.userId === "anna",
  );
  expect(anna.openConnections).toBe(0);
});
