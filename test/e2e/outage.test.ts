import { afterAll, beforeAll, expect, test } from "bun:test";
import {
  E2E_DB,
  type E2eConfig,
  firstValue,
  type MqttCounter,
  type Receiver,
  sendNumbered,
  spawnReceiver,
  subscribeCounter,
  waitFor,
  writeE2eConfig,
} from "../support/e2e.ts";
import { type InfluxServer, startInfluxdb } from "../support/influxdb.ts";
import { type MosquittoServer, startMosquitto } from "../support/mosquitto.ts";

const RATE = 500;
// 12 s with a 6.5 s InfluxDB outage covers the same paths as a longer run (spool in and out, broker
// restart, backoff) in half the time; the backoff after it is at most 8 s.
const SECONDS = 12;
const TOTAL = RATE * SECONDS;

let influx: InfluxServer;
let broker: MosquittoServer;
let config: E2eConfig;
let receiver: Receiver;
let subscriber: MqttCounter;

beforeAll(async () => {
  [influx, broker] = await Promise.all([startInfluxdb(), startMosquitto({ persistence: true })]);
  subscriber = await subscribeCounter(broker.port);
  // A small memory queue makes the outage overflow to the sqlite spool and back (reference §18 item 30).
  config = await writeE2eConfig({
    influx: { port: influx.port },
    mqtt: { port: broker.port },
    outbox: { memoryItems: 2000 },
    metricsEveryMs: 1000,
  });
  receiver = await spawnReceiver(config);
});

afterAll(async () => {
  receiver?.kill("SIGKILL");
  await receiver?.exited;
  await subscriber?.close();
  await Promise.all([influx?.close(), broker?.close()]);
  config?.remove();
});

test("delivers every event exactly once to InfluxDB and MQTT across an InfluxDB outage and a broker restart", async () => {
  const sending = sendNumbered(config.udpPort, 0, TOTAL, RATE);
  const outages = (async () => {
    await Bun.sleep(1_500);
    await influx.stop();
    await Bun.sleep(1_500);
    await broker.stop();
    await Bun.sleep(2_000);
    await broker.start();
    await Bun.sleep(3_000);
    await influx.start();
  })();
  let spoolPeak = 0;
  let done = false;
  const watching = (async () => {
    while (spoolPeak === 0 && !done) {
      spoolPeak = (await receiver.stats()).destinations.influxdb?.queued.spool ?? 0;
      await Bun.sleep(250);
    }
  })();
  const [sent] = await Promise.all([sending, outages]);
  done = true;
  await watching;
  expect(sent).toBe(TOTAL);
  await waitFor(
    "every datagram accepted",
    async () => (await receiver.stats()).datagrams.accepted >= TOTAL,
    5_000,
  );

  // After 6.5 s down the outbox may be backing off for up to 8 s before its next attempt.
  const count = "SELECT count(userId) FROM user_events";
  await waitFor(
    "every event in InfluxDB",
    async () => firstValue(await influx.query(count, E2E_DB)) >= TOTAL,
    60_000,
  );
  await waitFor(
    "every event on the broker",
    () => subscriber.countsById("qliksense/userevent").size >= TOTAL,
    30_000,
  );
  // Event counts are deltas that must survive failed writes too (reference §10.5, §18 item 46).
  const counted = "SELECT sum(counter) FROM event_count WHERE host = 'e2e-host'";
  await waitFor(
    "event counts for every event",
    async () => firstValue(await influx.query(counted, E2E_DB)) >= TOTAL,
  );
  const distinct = firstValue(await influx.query("SELECT count(distinct(userId)) FROM user_events", E2E_DB));

  const counts = subscriber.countsById("qliksense/userevent");
  const missing: string[] = [];
  for (let n = 0; n < TOTAL; n++) if (!counts.has(`u${n}`)) missing.push(`u${n}`);
  const duplicated = [...counts.values()].filter((c) => c > 1).length;
  // QoS 1 is at least once: a publish whose PUBACK was lost in the broker restart is sent again.
  // Delivery follows enqueue order (reference §18 items 30 and 50): first arrivals must be ascending.
  const firstArrivals = [
    ...new Set(
      subscriber.messages
        .filter((m) => m.topic === "qliksense/userevent")
        .map((m) => String(m.payload.userId)),
    ),
  ].map((id) => Number(id.slice(1)));
  const outOfOrder = firstArrivals
    .filter((n, i) => i > 0 && n < (firstArrivals[i - 1] as number))
    .map((n) => `u${n}`);
  const redelivered = subscriber.messages.filter((m) => m.dup).length;
  if (duplicated > 0)
    console.log(`[outage] ${duplicated} ids arrived more than once; ${redelivered} messages had DUP set`);
  const stats = (await receiver.stats()).destinations;
  const logLines = (text: string) =>
    receiver
      .output()
      .split("\n")
      .filter((line) => line.includes(text)).length;
  expect({
    accepted: (await receiver.stats()).datagrams.accepted,
    influxRows: firstValue(await influx.query(count, E2E_DB)),
    influxDistinctIds: distinct,
    eventCountSum: firstValue(await influx.query(counted, E2E_DB)),
    mqttDistinctIds: counts.size,
    mqttMissing: missing.slice(0, 10),
    mqttOutOfOrder: outOfOrder.slice(0, 10),
    influxDropped: stats.influxdb?.dropped,
    mqttDropped: stats.mqtt?.dropped,
    // Regression: the result kind "retry" was compared with the state "retrying", so every retry logged a warning.
    influxOutageWarnings: logLines("[outbox] influxdb: delivery failed"),
    influxUsedSpool: spoolPeak > 0,
  }).toStrictEqual({
    accepted: TOTAL,
    influxRows: TOTAL,
    influxDistinctIds: TOTAL,
    eventCountSum: TOTAL,
    mqttDistinctIds: TOTAL,
    mqttMissing: [],
    mqttOutOfOrder: [],
    influxDropped: { overflow: 0, rejected: 0, cardinality: 0, spool_lost: 0 },
    mqttDropped: { overflow: 0, rejected: 0, cardinality: 0, spool_lost: 0 },
    influxOutageWarnings: 1,
    influxUsedSpool: true,
  });
}, 150_000);

test("publishes events received while the broker was down at startup, in order, once it is up (reference §18 item 50)", async () => {
  await broker.stop();
  const late = await writeE2eConfig({ mqtt: { port: broker.port } });
  const second = await spawnReceiver(late);
  try {
    await sendNumbered(late.udpPort, 100_000, 100_050, 1_000);
    await Bun.sleep(500);
    await broker.start();
    const ours = () =>
      subscriber.messages
        .filter(
          (m) => m.topic === "qliksense/userevent" && Number(String(m.payload.userId).slice(1)) >= 100_000,
        )
        .map((m) => String(m.payload.userId));
    await waitFor("50 late messages", () => new Set(ours()).size >= 50);
    expect([...new Set(ours())]).toStrictEqual(Array.from({ length: 50 }, (_, i) => `u${100_000 + i}`));
  } finally {
    second.kill("SIGKILL");
    await second.exited;
    late.remove();
  }
});
