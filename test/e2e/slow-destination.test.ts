import { afterAll, beforeAll, expect, test } from "bun:test";
import {
  E2E_DB,
  type E2eConfig,
  type Receiver,
  sendNumbered,
  spawnReceiver,
  waitFor,
  writeE2eConfig,
} from "../support/e2e.ts";

const TOTAL = 1000;
const RATE = 250;
/** Every write is answered after this long: slow, but well under a hanging send (reference §9.2). */
const ANSWER_MS = 1500;

let server: ReturnType<typeof Bun.serve>;
let config: E2eConfig;
let receiver: Receiver;
/** The numbers of the users in the written lines, in arrival order. */
const arrived: number[] = [];
let slowest = 0;

beforeAll(async () => {
  // An InfluxDB v2 stand-in that answers every write with 204, each after ANSWER_MS.
  server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    async fetch(req) {
      const url = new URL(req.url);
      if (url.pathname === "/api/v2/buckets") return Response.json({ buckets: [{ name: E2E_DB }] });
      if (url.pathname !== "/api/v2/write") return new Response(null, { status: 404 });
      const started = performance.now();
      const raw = new Uint8Array(await req.arrayBuffer());
      const body = req.headers.get("content-encoding") === "gzip" ? Bun.gunzipSync(raw) : raw;
      await Bun.sleep(ANSWER_MS);
      for (const line of new TextDecoder().decode(body).split("\n")) {
        const match = /E2E\\+u(\d+)/.exec(line);
        if (match) arrived.push(Number(match[1]));
      }
      slowest = Math.max(slowest, performance.now() - started);
      return new Response(null, { status: 204 });
    },
  });
  config = await writeE2eConfig({ influx: { port: server.port as number, version: 2, maxBatchSize: 500 } });
  receiver = await spawnReceiver(config);
});

afterAll(async () => {
  receiver?.kill("SIGKILL");
  await receiver?.exited;
  server?.stop(true);
  config?.remove();
});

test("a destination that answers slowly (1.5 s per write) keeps its items in memory: nothing is spooled, all arrive in order (reference §9.2)", async () => {
  let spooled = 0;
  let heldInMemory = 0;
  let watching = true;
  const watch = (async () => {
    while (watching) {
      const queued = (await receiver.stats()).destinations.influxdb?.queued;
      spooled = Math.max(spooled, queued?.spool ?? 0);
      heldInMemory = Math.max(heldInMemory, queued?.memory ?? 0);
      await Bun.sleep(50);
    }
  })();
  await sendNumbered(config.udpPort, 0, TOTAL, RATE);
  const stats = await waitFor(`${TOTAL} items sent`, async () => {
    const influxdb = (await receiver.stats()).destinations.influxdb;
    return influxdb?.sent === TOTAL && influxdb;
  });
  watching = false;
  await watch;
  expect({
    slowAnswers: slowest >= ANSWER_MS,
    queuedInMemoryMeanwhile: heldInMemory > 0,
    spooledAtAnyTime: spooled,
    inOrder: arrived.every((n, i) => n === i),
    sent: stats?.sent,
    queued: stats?.queued,
  }).toStrictEqual({
    slowAnswers: true,
    queuedInMemoryMeanwhile: true,
    spooledAtAnyTime: 0,
    inOrder: true,
    sent: TOTAL,
    queued: { memory: 0, spool: 0 },
  });
});
