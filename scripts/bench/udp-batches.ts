/**
 * The UDP receive thread alone (src/ingest/udp-worker.ts of a source tree, started as sense-events starts it),
 * fed by the C sender at a paced rate: how many batches it posts to the main thread, their average size, and
 * the CPU % of the receive thread and of a main thread that only takes the batches. `--root` picks the tree,
 * so two builds can be compared in one sitting. Prints one JSON object.
 *
 *   bun scripts/bench/udp-batches.ts [--root=.] [--rate=20000] [--seconds=4]
 */
import { resolve } from "node:path";
import { freeUdpPort } from "./app.ts";
import { sampleCpu } from "./cpu-sample.ts";
import { buildCSender, send, writeDatagramFile } from "./sender.ts";

const args = new Map(
  process.argv.slice(2).map((a) => {
    const [k, ...v] = a.replace(/^--/, "").split("=");
    return [k ?? "", v.length > 0 ? v.join("=") : "true"] as const;
  }),
);
const root = resolve(import.meta.dir, "../..", args.get("root") ?? ".");
const rate = Number(args.get("rate") ?? 20_000);
const seconds = Number(args.get("seconds") ?? 4);
if (!buildCSender()) throw new Error("[udp-batches] the C sender is needed");
const file = writeDatagramFile("datagrams", 4000);
const { UDP_WORKER_URL } = await import(`${root}/src/workers.ts`);

const port = await freeUdpPort();
const worker = new Worker(UDP_WORKER_URL);
const shared = new SharedArrayBuffer(8);
const counters = new Int32Array(shared);
let batches = 0;
let datagrams = 0;
await new Promise<void>((ready) => {
  worker.onmessage = (event) => {
    const m = event.data;
    if (m.type === "listening") ready();
    else if (m.type === "batch") {
      batches++;
      datagrams += m.count;
      Atomics.sub(counters, 0, m.data.byteLength);
    }
  };
  worker.postMessage({
    type: "start",
    socket: { host: "127.0.0.1", port, receiveBufferBytes: 8 * 1024 * 1024 },
    shared,
    maxQueuedBytes: 64 * 1024 * 1024,
    logLevel: "warn",
  });
});
const before = sampleCpu([process.pid]);
const t0 = performance.now();
const { sent } = await send("c-sendmmsg", port, file, rate * seconds, rate, seconds * 3);
await Bun.sleep(100);
const after = sampleCpu([process.pid]);
const elapsed = (performance.now() - t0) / 1000;
const cpu: Record<string, number> = {};
for (const [key, a] of after) {
  const ticks = a.ticks - (before.get(key)?.ticks ?? 0);
  // The receive thread is named Worker; this process's main thread is named after the executable.
  const name = a.thread === "Worker" ? "receiveThread" : a.tid === process.pid ? "mainThread" : "other";
  cpu[name] = (cpu[name] ?? 0) + Math.round(ticks / elapsed);
}
worker.terminate();
console.log(
  JSON.stringify({
    root,
    rate,
    sent,
    datagrams,
    batches,
    avgBatch: Number((datagrams / batches).toFixed(1)),
    cpu,
  }),
);
