import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import dgram from "node:dgram";
import { loadConfigFile } from "../../src/config/load.ts";
import { silentLogger } from "../../src/log.ts";
import { type Service, startService } from "../../src/run/service.ts";
import { firstValue, type MqttCounter, subscribeCounter } from "../support/e2e.ts";
import { type InfluxServer, startInfluxdb } from "../support/influxdb.ts";
import { type MosquittoServer, startMosquitto } from "../support/mosquitto.ts";
import {
  fetchJson,
  freeTcpPort,
  freeUdpPort,
  runConfig,
  sendUdp,
  type TempDir,
  tempDir,
} from "../support/process.ts";
import { startTcpProxy, type TcpProxy } from "../support/tcp-proxy.ts";
import { waitFor } from "../support/wait.ts";

// A reload rebuilds only the destinations whose own settings changed (issue 7): the others keep their
// connection to the server, seen here through counting proxies in front of InfluxDB and mosquitto.

const DB = "sense_events_reload";

let influx: InfluxServer;
let broker: MosquittoServer;
let subscriber: MqttCounter;
beforeAll(async () => {
  [influx, broker] = await Promise.all([startInfluxdb(), startMosquitto()]);
  subscriber = await subscribeCounter(broker.port);
});
afterAll(async () => {
  await subscriber.close();
  await Promise.all([influx.close(), broker.close()]);
});

const cleanup: (() => unknown)[] = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

/** A format (a) Start session datagram for `LAB\<user>`. */
const startSession = (user: string) =>
  `/qseow-proxy-session/;node1;Start session;LAB;${user};AppAccess;/;Start session for user 'LAB\\${user}'`;

interface Setup {
  dir: TempDir;
  service: Service;
  apiUrl: string;
  udp: number;
  /** Writes the config with InfluxDB and MQTT behind the given proxies (and UDP on `udpPort`). */
  write(proxies: { influx: TcpProxy; mqtt: TcpProxy }, userEvents?: object, udpPort?: number): void;
}

/** Starts the service with InfluxDB and MQTT destinations reached through the given proxies. */
async function start(proxies: { influx: TcpProxy; mqtt: TcpProxy }): Promise<Setup> {
  const dir = tempDir("sense-events-reload-");
  cleanup.push(() => dir.cleanup());
  const ports = { udp: await freeUdpPort(), api: await freeTcpPort() };
  const write = (p: { influx: TcpProxy; mqtt: TcpProxy }, userEvents: object = {}, udpPort = ports.udp) =>
    dir.write(
      "config.yaml",
      runConfig(
        { ...ports, udp: udpPort },
        {
          userEvents: { ...userEvents, sendToMQTT: { enable: true } },
          butlerSos: {
            influxdbConfig: {
              enable: true,
              host: "127.0.0.1",
              port: p.influx.port,
              version: 1,
              v1Config: { dbName: DB },
            },
            mqttConfig: { enable: true, brokerHost: "127.0.0.1", brokerPort: p.mqtt.port },
          },
          senseEvents: { influxdb: { flushIntervalMs: 20 } },
        },
      ),
    );
  write(proxies);
  const loaded = await loadConfigFile(`${dir.path}/config.yaml`);
  if (!loaded.ok) throw new Error(JSON.stringify(loaded.errors));
  const service = await startService({
    config: loaded.config,
    configFile: `${dir.path}/config.yaml`,
    log: silentLogger,
  });
  cleanup.push(() => service.close());
  return { dir, service, apiUrl: service.apiUrl ?? "", udp: ports.udp, write };
}

/** Sends a session start for `user` and waits until both InfluxDB and MQTT have it. */
async function deliver(s: Setup, user: string): Promise<void> {
  await sendUdp(s.udp, [startSession(user)]);
  await waitFor(`${user} in MQTT`, () =>
    subscriber.countsById("qliksense/userevent").has(user) ? true : undefined,
  );
  await waitFor(`${user} in InfluxDB`, async () => {
    const result = await influx.query(`SELECT count(*) FROM user_events WHERE userId = '${user}'`, DB);
    return firstValue(result) > 0 ? true : undefined;
  });
}

/** Proxies in front of the real servers, closed after the test. */
async function proxies() {
  const p = { influx: await startTcpProxy(influx.port), mqtt: await startTcpProxy(broker.port) };
  cleanup.push(() => {
    p.influx.close();
    p.mqtt.close();
  });
  return p;
}

/** Database creations (`/query` requests) an InfluxDB destination sent through `proxy` at its start. */
const queries = (proxy: TcpProxy) => proxy.sent.split("POST /query").length - 1;

describe("a reload rebuilds only the destinations whose settings changed", () => {
  test("an excludeUser change keeps the InfluxDB and MQTT destinations and their connections", async () => {
    const p = await proxies();
    const s = await start(p);
    await deliver(s, "before1");
    const seen = { mqttConnections: p.mqtt.connections, influxQueries: queries(p.influx) };
    s.write(p, { excludeUser: [{ directory: "LAB", userId: "nobody" }] });
    const outcome = await fetchJson(`${s.apiUrl}/api/config/reload`, { method: "POST" });
    await deliver(s, "after1");
    expect({
      status: outcome.status,
      changed: outcome.body.changed,
      mqttConnections: p.mqtt.connections,
      influxQueries: queries(p.influx),
    }).toStrictEqual({
      status: 200,
      changed: ["Butler-SOS.userEvents.excludeUser"],
      mqttConnections: seen.mqttConnections,
      influxQueries: seen.influxQueries,
    });
    // The counts are not vacuous: MQTT connected once, InfluxDB created its database at start.
    expect(seen.mqttConnections).toBe(1);
    expect(seen.influxQueries).toBeGreaterThan(0);
  });

  test("a new MQTT broker port replaces only the MQTT destination", async () => {
    const p = await proxies();
    const s = await start(p);
    await deliver(s, "before2");
    const influxQueries = queries(p.influx);
    const moved = { influx: p.influx, mqtt: await startTcpProxy(broker.port) };
    cleanup.push(() => moved.mqtt.close());
    s.write(moved);
    const outcome = await fetchJson(`${s.apiUrl}/api/config/reload`, { method: "POST" });
    await deliver(s, "after2");
    expect({
      status: outcome.status,
      changed: outcome.body.changed,
      newBrokerConnections: moved.mqtt.connections,
      influxQueries: queries(p.influx),
    }).toStrictEqual({
      status: 200,
      changed: ["Butler-SOS.mqttConfig.brokerPort"],
      newBrokerConnections: 1,
      influxQueries,
    });
  });

  test("a reload refused because the new UDP port is taken leaves MQTT on the old broker", async () => {
    const p = await proxies();
    const s = await start(p);
    await deliver(s, "before3");
    const moved = { influx: p.influx, mqtt: await startTcpProxy(broker.port) };
    cleanup.push(() => moved.mqtt.close());
    const taken = dgram.createSocket("udp4");
    await new Promise<void>((resolve) => taken.bind(0, "127.0.0.1", resolve));
    cleanup.push(() => taken.close());
    s.write(moved, {}, taken.address().port);
    const outcome = await fetchJson(`${s.apiUrl}/api/config/reload`, { method: "POST" });
    await deliver(s, "after3");
    expect({ status: outcome.status, newBrokerConnections: moved.mqtt.connections }).toStrictEqual({
      status: 422,
      newBrokerConnections: 0,
    });
  });
});
