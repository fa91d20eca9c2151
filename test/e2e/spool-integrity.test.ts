import { afterAll, beforeAll, expect, test } from "bun:test";
import { readdirSync, rmSync, truncateSync } from "node:fs";
import { join } from "node:path";
import { firstValue, receiverPool, sendNumbered, waitFor, writeE2eConfig } from "../support/e2e.ts";
import { type InfluxServer, startInfluxdb } from "../support/influxdb.ts";

let influx: InfluxServer;
const { configs, start } = receiverPool();

beforeAll(async () => {
  influx = await startInfluxdb();
});

afterAll(async () => {
  await influx?.close();
});

/** Runs a second instance on `file` to its end: its exit code and the "in use" line of its stderr. */
async function secondInstance(file: string): Promise<{ code: number; inUse: string | undefined }> {
  const proc = Bun.spawn([process.execPath, "src/main.ts", "run", "-c", file], {
    cwd: join(import.meta.dir, "../.."),
    stdout: "pipe",
    stderr: "pipe",
  });
  const [code, stderr] = await Promise.all([proc.exited, new Response(proc.stderr).text()]);
  const inUse = /\S+ is in use by another sense-events process/.exec(stderr)?.[0];
  return { code, inUse };
}

test("a second instance on the same spool file exits 1 with a message naming the file", async () => {
  const first = await writeE2eConfig({ influx: { port: influx.port } });
  configs.push(first);
  await start(first);
  const spool = join(first.dir, "outbox.sqlite");
  const second = await writeE2eConfig({ influx: { port: influx.port }, outbox: { path: spool } });
  configs.push(second);
  expect(await secondInstance(second.file)).toStrictEqual({
    code: 1,
    inUse: `${spool} is in use by another sense-events process`,
  });
});

test("a second instance on the same history file exits 1 with a message naming the file (reference §19)", async () => {
  const first = await writeE2eConfig({ influx: { port: influx.port } });
  configs.push(first);
  await start(first);
  const history = join(first.dir, "sense-events-history.sqlite");
  // Its own spool and ports: only the history file is shared.
  const second = await writeE2eConfig({ influx: { port: influx.port }, history: { path: history } });
  configs.push(second);
  expect(await secondInstance(second.file)).toStrictEqual({
    code: 1,
    inUse: `${history} is in use by another sense-events process`,
  });
});

test.each([
  ["deleted", "was deleted", (path: string) => rmSync(path)],
  ["truncated", "was truncated", (path: string) => truncateSync(path, 50)],
])(
  "a spool file %s while InfluxDB is down is detected, counted as spool_lost, logged once and shown in /health",
  async (_, problem, tamper) => {
    await influx.stop();
    const db = `spool_${problem.replaceAll(" ", "_")}`;
    const config = await writeE2eConfig({ influx: { port: influx.port, dbName: db } });
    configs.push(config);
    const receiver = await start(config);
    await sendNumbered(config.udpPort, 0, 300, 3_000);
    await waitFor(
      "300 items on disk",
      async () => (await receiver.stats()).destinations.influxdb?.queued.spool === 300,
    );
    tamper(join(config.dir, "outbox.sqlite"));
    await waitFor(
      "the lost items counted",
      async () => (await receiver.stats()).destinations.influxdb?.dropped.spool_lost === 300,
      10_000,
    );
    const health = (await (await fetch(`${receiver.apiUrl}/health`)).json()) as {
      status: string;
      problems?: string[];
    };
    expect(health.status).toBe("degraded");
    expect(health.problems?.[0]).toContain(`${problem}`);
    expect(
      receiver
        .output()
        .split("\n")
        .filter((line) => line.includes("spooled items lost")).length,
    ).toBe(1);
    if (problem !== "was deleted")
      expect(readdirSync(config.dir).some((name) => name.startsWith("outbox.sqlite.bad-"))).toBe(true);

    // New events go to the fresh spool and are delivered once InfluxDB is back.
    await sendNumbered(config.udpPort, 300, 310, 1_000);
    await influx.start();
    await waitFor(
      "the later events in InfluxDB",
      async () => firstValue(await influx.query("SELECT count(userId) FROM user_events", db)) >= 10,
      30_000,
    );
    const s = (await receiver.stats()).destinations.influxdb;
    const dropped = Object.values(s?.dropped ?? {}).reduce((a, b) => a + b, 0);
    expect((s?.enqueued ?? 0) - (s?.sent ?? 0) - dropped).toBe(
      (s?.queued.memory ?? 0) + (s?.queued.spool ?? 0),
    );
  },
  60_000,
);
