import { afterAll, beforeAll, expect, test } from "bun:test";
import { firstValue, type Receiver, receiverPool, sendNumbered, writeE2eConfig } from "../support/e2e.ts";
import { type InfluxServer, startInfluxdb } from "../support/influxdb.ts";
import { waitFor } from "../support/wait.ts";

let influx: InfluxServer;
const { receivers, configs, start } = receiverPool();

beforeAll(async () => {
  influx = await startInfluxdb();
});

afterAll(async () => {
  await influx?.close();
});

async function queued(receiver: Receiver): Promise<{ memory: number; spool: number }> {
  return (await receiver.stats()).destinations.influxdb?.queued ?? { memory: 0, spool: 0 };
}

/** userIds in InfluxDB in timestamp order, once `expected` rows are there. */
async function storedIds(db: string, expected: number): Promise<string[]> {
  const count = "SELECT count(userId) FROM user_events";
  try {
    await waitFor(
      `${expected} rows in ${db}`,
      async () => firstValue(await influx.query(count, db)) >= expected,
    );
  } catch (error) {
    // The receivers' logs are what explains a missing row.
    for (const receiver of receivers) console.log(receiver.output());
    throw error;
  }
  const result = await influx.query("SELECT userId FROM user_events", db);
  const values: unknown[][] = result.results?.[0]?.series?.[0]?.values ?? [];
  return values.map((row) => String(row[1]));
}

function ids(from: number, to: number): string[] {
  return Array.from({ length: to - from }, (_, i) => `u${from + i}`);
}

test("kill -9 during an InfluxDB outage loses nothing older than about a second: a restart delivers it all in order", async () => {
  await influx.stop();
  const db = "restart_kill";
  // The default memoryItems (10,000) would hold this whole outage in memory: write-through must spool it.
  const config = await writeE2eConfig({ influx: { port: influx.port, dbName: db } });
  configs.push(config);
  const first = await start(config);
  await sendNumbered(config.udpPort, 0, 1000, 1_000);
  // Write-through: everything reaches the file within about a second of arriving (3 s allows for a busy CI).
  await waitFor("1000 items on disk", async () => (await queued(first)).spool === 1000, 3_000);
  expect(await queued(first)).toStrictEqual({ memory: 0, spool: 1000 });
  first.kill("SIGKILL");
  await first.exited;

  await influx.start();
  await start(config);
  expect(await storedIds(db, 1000)).toStrictEqual(ids(0, 1000));
});

test("SIGTERM with InfluxDB down spools everything and exits 0; the next run delivers it in order (reference §18 item 35)", async () => {
  await influx.stop();
  const db = "restart_term";
  const config = await writeE2eConfig({
    influx: { port: influx.port, dbName: db },
    outbox: { memoryItems: 10, shutdownTimeoutMs: 1000 },
  });
  configs.push(config);
  const first = await start(config);
  await sendNumbered(config.udpPort, 0, 200, 5_000);
  await waitFor("200 items queued", async () => {
    const q = await queued(first);
    return q.memory + q.spool === 200;
  });
  first.kill("SIGTERM");
  expect(await first.exited).toBe(0);

  await influx.start();
  await start(config);
  expect(await storedIds(db, 200)).toStrictEqual(ids(0, 200));
});

test("a database that could not be created while InfluxDB was down is created when it comes back", async () => {
  await influx.stop();
  const db = "created_late";
  const config = await writeE2eConfig({ influx: { port: influx.port, dbName: db } });
  configs.push(config);
  await start(config);
  await sendNumbered(config.udpPort, 0, 20, 1_000);
  await influx.start();
  expect(await storedIds(db, 20)).toStrictEqual(ids(0, 20));
});
