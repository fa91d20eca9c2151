import { afterAll, beforeAll, expect, test } from "bun:test";
import { loadConfigFile } from "../../src/config/load.ts";
import { createLogger } from "../../src/log.ts";
import { startService } from "../../src/run/service.ts";
import type { StatsSnapshot } from "../../src/stats.ts";
import { type MqttCounter, subscribeCounter } from "../support/e2e.ts";
import { type MosquittoServer, startMosquitto } from "../support/mosquitto.ts";
import { freeTcpPort, freeUdpPort, runConfig, sendUdp, tempDir } from "../support/process.ts";
import { waitFor } from "../support/wait.ts";

let broker: MosquittoServer;
let subscriber: MqttCounter;
beforeAll(async () => {
  broker = await startMosquitto();
  subscriber = await subscribeCounter(broker.port);
});
afterAll(async () => {
  await subscriber.close();
  await broker.close();
});

const startSession = (user: string) =>
  `/qseow-proxy-session/;node1;Start session;LAB;${user};AppAccess;/;Start session for user 'LAB\\${user}'`;

test("a reload rebuilding MQTT with a fixed clientId closes the old client at once, with no false 'disconnected' warning", async () => {
  const dir = tempDir("sense-events-takeover-");
  const ports = { udp: await freeUdpPort(), api: await freeTcpPort() };
  const write = (qos: number) =>
    dir.write(
      "config.yaml",
      runConfig(ports, {
        userEvents: { sendToMQTT: { enable: true } },
        butlerSos: {
          mqttConfig: {
            enable: true,
            brokerHost: "127.0.0.1",
            brokerPort: broker.port,
            clientId: "fixed-id",
            qos,
          },
        },
      }),
    );
  const file = write(1);
  const loaded = await loadConfigFile(file);
  if (!loaded.ok) throw new Error(JSON.stringify(loaded.errors));
  const lines: string[] = [];
  const log = createLogger({ level: "debug", write: (line) => lines.push(line) });
  const service = await startService({ config: loaded.config, configFile: file, log });
  const delivered = (user: string) =>
    waitFor(`${user} in MQTT`, () => subscriber.countsById("qliksense/userevent").has(user));
  try {
    await sendUdp(ports.udp, [startSession("before")]);
    await delivered("before");

    write(0);
    const outcome = await service.reload();
    expect(outcome.body).toMatchObject({ changed: ["Butler-SOS.mqttConfig.qos"] });
    // The old client had nothing in flight: it is closed before the new one takes its clientId over.
    await waitFor(
      "the replaced destination closed",
      () => lines.some((line) => line.includes("the replaced mqtt destination is closed")),
      5_000,
    );
    await sendUdp(ports.udp, [startSession("after")]);
    await delivered("after");
    expect(
      lines.filter((line) => line.includes("connected to") && line.includes("as fixed-id")),
    ).toHaveLength(2);
    expect(lines.filter((line) => line.includes("warn") && line.includes("[mqtt]"))).toStrictEqual([]);
  } finally {
    await service.close();
    dir.cleanup();
  }
  expect(lines.filter((line) => line.includes("[mqtt] disconnected"))).toStrictEqual([]);
});

test("a destination replaced while its request is in flight is closed once that request ends, which is not aborted", async () => {
  // A stand-in InfluxDB 1.x that holds the first write until the test lets it go: a hang on demand.
  let release: () => void = () => {};
  const held = new Promise<void>((resolve) => {
    release = resolve;
  });
  let writes = 0;
  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    async fetch(request) {
      const path = new URL(request.url).pathname;
      if (path === "/query") return Response.json({ results: [{ statement_id: 0 }] });
      if (path !== "/write") return new Response("not found", { status: 404 });
      await request.text();
      if (++writes === 1) await held;
      return new Response(null, { status: 204 });
    },
  });
  const dir = tempDir("sense-events-retire-");
  const ports = { udp: await freeUdpPort(), api: await freeTcpPort() };
  const write = (flushIntervalMs: number) =>
    dir.write(
      "config.yaml",
      runConfig(ports, {
        butlerSos: {
          influxdbConfig: {
            enable: true,
            host: "127.0.0.1",
            port: server.port,
            version: 1,
            v1Config: { dbName: "retire" },
          },
        },
        senseEvents: { influxdb: { flushIntervalMs } },
      }),
    );
  const file = write(20);
  const loaded = await loadConfigFile(file);
  if (!loaded.ok) throw new Error(JSON.stringify(loaded.errors));
  const lines: string[] = [];
  const log = createLogger({ level: "debug", write: (line) => lines.push(line) });
  const service = await startService({ config: loaded.config, configFile: file, log });
  const closedLine = () => lines.some((line) => line.includes("the replaced influxdb destination is closed"));
  try {
    await sendUdp(ports.udp, [startSession("held")]);
    await waitFor("the write request to arrive", () => writes === 1);
    write(30);
    const outcome = await service.reload();
    expect(outcome.body).toMatchObject({ changed: ["sense-events.influxdb.flushIntervalMs"] });
    expect(closedLine()).toBe(false);
    release();
    await waitFor("the replaced destination closed", closedLine, 5_000);
    const stats = await waitFor("the held batch counted as sent", async () => {
      const s = (await (await fetch(`${service.apiUrl}/api/stats`)).json()) as StatsSnapshot;
      return s.destinations.influxdb?.sent === 1 ? s.destinations.influxdb : undefined;
    });
    // Delivered once by the old destination: not aborted, so not sent again by the new one.
    expect({ writes, sent: stats.sent, queued: stats.queued }).toStrictEqual({
      writes: 1,
      sent: 1,
      queued: { memory: 0, spool: 0 },
    });
  } finally {
    release();
    await service.close();
    server.stop(true);
    dir.cleanup();
  }
});
