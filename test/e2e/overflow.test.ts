import { afterAll, afterEach, beforeAll, expect, test } from "bun:test";
import {
  type E2eConfig,
  firstValue,
  type Receiver,
  sendNumbered,
  spawnReceiver,
  writeE2eConfig,
} from "../support/e2e.ts";
import { type InfluxServer, startInfluxdb } from "../support/influxdb.ts";
import { waitFor } from "../support/wait.ts";

const SENT = 1000;

let influx: InfluxServer;
let receiver: Receiver | undefined;
let config: E2eConfig | undefined;

beforeAll(async () => {
  influx = await startInfluxdb();
});

afterEach(async () => {
  receiver?.kill("SIGKILL");
  await receiver?.exited;
  config?.remove();
  receiver = undefined;
  config = undefined;
});

afterAll(async () => {
  await influx?.close();
});

/** userIds in InfluxDB in timestamp order. */
async function storedIds(db: string): Promise<string[]> {
  const result = await influx.query("SELECT userId FROM user_events", db);
  const values: unknown[][] = result.results?.[0]?.series?.[0]?.values ?? [];
  return values.map((row) => String(row[1]));
}

function ids(from: number, to: number): string[] {
  return Array.from({ length: to - from }, (_, i) => `u${from + i}`);
}

// memoryItems 10000: everything is in memory and the memory queue is evicted from its oldest end.
// memoryItems 10: the ten oldest are in memory and the bound evicts the oldest spooled items (reference §9);
// both then move to the spool when the first attempt fails (write-through).
test.each([
  { memoryItems: 10_000, kept: 0 },
  { memoryItems: 10, kept: 10 },
])(
  "with InfluxDB down and maxBytes 20000 (memoryItems $memoryItems) the oldest items are dropped as overflow and the newest arrive",
  async ({ memoryItems, kept }) => {
    const db = `overflow_${memoryItems}`;
    // The database exists, as in production; only the server is down while events arrive.
    await influx.query(`CREATE DATABASE ${db}`, "");
    await influx.stop();
    config = await writeE2eConfig({
      influx: { port: influx.port, dbName: db },
      outbox: { memoryItems, maxBytes: 20_000 },
      // The bound is shared by every lane: the history's items (kept in memory up to 100,000 while
      // written) would take this tiny budget and leave InfluxDB nothing to count here.
      history: { enable: false },
    });
    const running = await spawnReceiver(config);
    receiver = running;
    await sendNumbered(config.udpPort, 0, SENT, 5_000);
    const influxStats = async () => (await running.stats()).destinations.influxdb;
    // Write-through empties memory into the spool once the first attempt fails; the bound then holds.
    await waitFor("every item on disk or counted as overflow", async () => {
      const s = await influxStats();
      return s !== undefined && s.queued.memory === 0 && s.queued.spool + s.dropped.overflow === SENT;
    });
    const before = await influxStats();
    const queued = (before?.queued.memory ?? 0) + (before?.queued.spool ?? 0);
    expect(before?.dropped).toStrictEqual({
      overflow: SENT - queued,
      rejected: 0,
      cardinality: 0,
      spool_lost: 0,
    });
    expect(queued).toBeGreaterThan(0);
    expect(queued).toBeLessThan(SENT);

    await influx.start();
    const count = "SELECT count(userId) FROM user_events";
    await waitFor(
      "the kept items in InfluxDB",
      async () => firstValue(await influx.query(count, db)) >= queued,
      40_000,
    );
    const stored = await storedIds(db);
    // Items that were in memory may be evicted too once write-through spooled them, oldest first.
    const fromMemory = stored.filter((id) => Number(id.slice(1)) < kept).length;
    expect({
      health: (await fetch(`${running.apiUrl}/health`)).status,
      ids: stored,
    }).toStrictEqual({
      health: 200,
      ids: [...ids(kept - fromMemory, kept), ...ids(SENT - (queued - fromMemory), SENT)],
    });
  },
  60_000,
);
