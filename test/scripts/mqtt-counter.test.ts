import { afterAll, beforeAll, expect, test } from "bun:test";
import { join } from "node:path";
import { connectAsync } from "mqtt";
import { spawnHelper } from "../../scripts/bench/app.ts";
import { type MosquittoServer, startMosquitto } from "../support/mosquitto.ts";
import { waitFor } from "../support/wait.ts";

let broker: MosquittoServer;
beforeAll(async () => {
  broker = await startMosquitto();
});
afterAll(() => broker.close());

test("the bench's MQTT counter counts every PUBLISH on its topic, small and large, and nothing else", async () => {
  const script = join(import.meta.dir, "../../scripts/bench/mqtt-counter.ts");
  const { child, hello } = await spawnHelper<{ httpPort: number }>(
    [process.execPath, script, broker.url, "bench/counted"],
    "mqtt counter",
  );
  const count = async () =>
    ((await (await fetch(`http://127.0.0.1:${hello.httpPort}/`)).json()) as { received: number }).received;
  const publisher = await connectAsync(broker.url, { clean: true });
  try {
    // Remaining lengths of 1, 2 and 3 bytes, so packets also straddle the socket's reads.
    const sizes = [10, 200, 20_000, 300_000];
    const writes: Promise<unknown>[] = [];
    for (let i = 0; i < 400; i++) {
      const size = sizes[i % sizes.length] as number;
      writes.push(publisher.publishAsync("bench/counted", "x".repeat(size), { qos: 0 }));
      writes.push(publisher.publishAsync("bench/other", "y".repeat(size), { qos: 0 }));
    }
    await Promise.all(writes);
    await waitFor("400 counted", async () => (await count()) === 400, 20_000);
    // A late extra message would show up here: the other topic's 400 were never counted.
    await publisher.publishAsync("bench/counted", "last", { qos: 0 });
    await waitFor("401 counted", async () => (await count()) === 401, 5_000);
    expect(await count()).toBe(401);
  } finally {
    await publisher.endAsync();
    child.kill("SIGTERM");
    await child.exited;
  }
});
