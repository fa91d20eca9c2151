import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { hostname } from "node:os";
import {
  E2E_DB,
  type E2eConfig,
  firstValue,
  type MqttCounter,
  type Receiver,
  sendNumbered,
  spawnReceiver,
  subscribeCounter,
  writeE2eConfig,
} from "../support/e2e.ts";
import { type InfluxServer, startInfluxdb } from "../support/influxdb.ts";
import { type MosquittoServer, startMosquitto } from "../support/mosquitto.ts";
import { waitFor } from "../support/wait.ts";

const UA =
  "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/119.0.0.0 Safari/537.36";
const APP = "a421f4a2-c311-4ef4-ba41-fe2e6a2b0d69";
const CONTEXT = `/app/${APP}?reloaduri=https://sense.lab/sense/app/${APP}`;
const MESSAGE = `App connection Opened for session 'c8b1a0f2'; UserAgent: '${UA}'`;
/** E2 of reference §17 (the app name is unknown here: app-name extraction is off). */
const E2 = `/qseow-proxy-connection/;pro2-win1;Open connection;LAB;goran;AppAccess;${CONTEXT};${MESSAGE}`;
const BURST = 2000;

// biome-ignore lint/suspicious/noExplicitAny: InfluxQL JSON
type Query = any;

/** Rows of an InfluxQL result as objects keyed by column. */
function rows(result: Query): Record<string, unknown>[] {
  const series = result.results?.[0]?.series?.[0];
  if (!series) return [];
  return series.values.map((values: unknown[]) =>
    Object.fromEntries(series.columns.map((column: string, i: number) => [column, values[i]])),
  );
}

/** The newest event of `/api/events` (its `receivedAt` is what the destinations must carry). */
async function newestEvent(receiver: Receiver): Promise<{ receivedAt: string }> {
  const body = (await (await fetch(`${receiver.apiUrl}/api/events`)).json()) as {
    events: { receivedAt: string }[];
  };
  const event = body.events[0];
  if (!event) throw new Error("[e2e] /api/events is empty");
  return event;
}

describe("delivery to real InfluxDB and mosquitto", () => {
  let influx: InfluxServer;
  let broker: MosquittoServer;
  let config: E2eConfig;
  let receiver: Receiver;
  let subscriber: MqttCounter;

  beforeAll(async () => {
    [influx, broker] = await Promise.all([startInfluxdb(), startMosquitto({ persistence: true })]);
    subscriber = await subscribeCounter(broker.port);
    config = await writeE2eConfig({
      influx: { port: influx.port },
      mqtt: { port: broker.port, allTopics: true },
      metricsEveryMs: 1000,
      tags: [
        { name: "qs_env", value: "dev" },
        { name: "env2", value: "a b,c=d" },
      ],
    });
    receiver = await spawnReceiver(config);
    await sendNumbered(config.udpPort, 0, 1, 1, () => E2);
  });

  afterAll(async () => {
    receiver?.kill("SIGKILL");
    await receiver?.exited;
    await subscriber?.close();
    await Promise.all([influx?.close(), broker?.close()]);
    config?.remove();
  });

  test("writes the E2 event to InfluxDB with the reference §10.4 tags and fields at its receive time", async () => {
    const q = `SELECT * FROM user_events WHERE host = 'pro2-win1'`;
    await waitFor("the E2 line in InfluxDB", async () => rows(await influx.query(q, E2E_DB)).length > 0);
    const event = await newestEvent(receiver);
    // In v1 a tag and a field may share a key; InfluxQL then names the field `<key>_1`.
    expect(rows(await influx.query(q, E2E_DB))).toStrictEqual([
      {
        time: event.receivedAt.replace(/\.?0+Z$/, "Z"),
        appId: APP,
        appId_1: APP,
        appName: "<unknown app name>",
        appName_1: "<unknown app name>",
        env2: "a b,c=d",
        event_action: "Open connection",
        host: "pro2-win1",
        origin: "AppAccess",
        qs_env: "dev",
        qs_uaBrowserMajorVersion: "119",
        qs_uaBrowserName: "Chrome",
        qs_uaOsName: "Windows",
        qs_uaOsVersion: "10",
        // With uaTagPrefix unset, Butler SOS 15's names too (reference §22).
        uaBrowserMajorVersion: "119",
        uaBrowserName: "Chrome",
        uaOsName: "Windows",
        uaOsVersion: "10",
        userDirectory: "LAB",
        userFull: "LAB\\goran",
        userFull_1: "LAB\\goran",
        userId: "goran",
        userId_1: "goran",
      },
    ]);
  });

  test("publishes the reference §11 payload of E2 to the everything topic and the connection-open topic", async () => {
    await waitFor("two MQTT messages for goran", () => subscriber.messages.length >= 2);
    const event = await newestEvent(receiver);
    const payload = {
      messageType: "qseow-proxy-connection",
      host: "pro2-win1",
      command: "Open connection",
      userDir: "LAB",
      userId: "goran",
      origin: "AppAccess",
      context: CONTEXT,
      message: MESSAGE,
      tags: { qs_env: "dev", env2: "a b,c=d" },
      appId: APP,
      appName: "<unknown app name>",
      uaBrowserName: "Chrome",
      uaBrowserMajorVersion: "119",
      uaOsName: "Windows",
      uaOsVersion: "10",
      receivedAt: event.receivedAt,
    };
    expect(
      subscriber.messages.map((m) => ({ topic: m.topic, keys: Object.keys(m.payload), payload: m.payload })),
    ).toStrictEqual([
      { topic: "qliksense/userevent", keys: Object.keys(payload), payload },
      { topic: "qliksense/userevent/connection/open", keys: Object.keys(payload), payload },
    ]);
  });

  test("stores every event of a burst, including many received in the same millisecond (reference §18 item 43)", async () => {
    const burst = (n: number) =>
      `/qseow-proxy-session/;burst-host;Start session;E2E;u${n};AppAccess;/;Start session for user 'E2E\\u${n}'`;
    await sendNumbered(config.udpPort, 0, BURST, 1_000_000, burst);
    const count = `SELECT count(userId) FROM user_events WHERE host = 'burst-host'`;
    await waitFor(
      "the burst in InfluxDB",
      async () => firstValue(await influx.query(count, E2E_DB)) >= BURST,
    );
    const times = rows(
      await influx.query(`SELECT userId FROM user_events WHERE host = 'burst-host'`, E2E_DB),
    ).map((row) => String(row.time));
    const milliseconds = new Set(times.map((t) => new Date(t).getTime()));
    // The test only means something if several events did share a millisecond.
    expect(milliseconds.size).toBeLessThan(BURST);
    expect({ rows: times.length, distinctTimes: new Set(times).size }).toStrictEqual({
      rows: BURST,
      distinctTimes: BURST,
    });
  });

  test("writes event_count deltas that add up to the accepted events", async () => {
    const sum = `SELECT sum(counter) FROM event_count WHERE event_type = 'user' AND source = 'qseow-proxy-session' AND host = 'burst-host' AND subsystem = 'AppAccess'`;
    await waitFor(
      "event counts for the burst",
      async () => firstValue(await influx.query(sum, E2E_DB)) >= BURST,
    );
    expect(firstValue(await influx.query(sum, E2E_DB))).toBe(BURST);
  });

  test("writes user_events_queue points tagged with the OS host name whose messages_received add up", async () => {
    const received = (await receiver.stats()).datagrams.received;
    const sum = `SELECT sum(messages_received) FROM user_events_queue WHERE queue_type = 'user_events' AND host = '${hostname()}'`;
    await waitFor(
      "queue metrics for every datagram",
      async () => firstValue(await influx.query(sum, E2E_DB)) >= received,
    );
    expect({ received: firstValue(await influx.query(sum, E2E_DB)) }).toStrictEqual({ received: 1 + BURST });
  });
});

describe("batching against an InfluxDB v2 stand-in", () => {
  let server: ReturnType<typeof Bun.serve>;
  let config: E2eConfig;
  let receiver: Receiver;
  const batches: number[] = [];

  beforeAll(async () => {
    server = Bun.serve({
      hostname: "127.0.0.1",
      port: 0,
      async fetch(req) {
        const url = new URL(req.url);
        if (url.pathname === "/api/v2/buckets") return Response.json({ buckets: [{ name: E2E_DB }] });
        if (url.pathname !== "/api/v2/write") return new Response(null, { status: 404 });
        const raw = new Uint8Array(await req.arrayBuffer());
        const body = req.headers.get("content-encoding") === "gzip" ? Bun.gunzipSync(raw) : raw;
        batches.push(new TextDecoder().decode(body).split("\n").length);
        return new Response(null, { status: 204 });
      },
    });
    config = await writeE2eConfig({ influx: { port: server.port as number, version: 2, maxBatchSize: 10 } });
    receiver = await spawnReceiver(config);
  });

  afterAll(async () => {
    receiver?.kill("SIGKILL");
    await receiver?.exited;
    server?.stop(true);
    config?.remove();
  });

  test("sends no request with more than maxBatchSize lines (reference §18 item 37)", async () => {
    await sendNumbered(config.udpPort, 0, 35, 1_000_000);
    await waitFor("35 lines at the stand-in", () => batches.reduce((a, b) => a + b, 0) >= 35);
    const stats = (await receiver.stats()).destinations.influxdb;
    expect({
      lines: batches.reduce((a, b) => a + b, 0),
      oversized: batches.filter((n) => n > 10),
      sent: stats?.sent,
    }).toStrictEqual({ lines: 35, oversized: [], sent: 35 });
  });
});
