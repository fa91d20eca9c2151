/**
 * Memory held by the recent-events ring: stores `--events` realistic events (from `testDatagram(i)`, each a
 * fresh datagram buffer, through the real processor, ring and session tracker, as the service does), then
 * prints RSS and JS heap before and after, per stored event, plus the heap's largest object types.
 *
 *   bun scripts/bench/ring-memory.ts [--events=100000]
 */
import { heapStats } from "bun:jsc";
import { testDatagram } from "../../src/cli/send-test-events.ts";
import { EventRing } from "../../src/events/ring.ts";
import { createSessionTracker } from "../../src/events/sessions.ts";
import { createProcessor } from "../../src/ingest/process.ts";
import { createUserAgentParser } from "../../src/ingest/user-agent.ts";
import { markdownTable, num } from "./stats.ts";

const arg = process.argv.find((a) => a.startsWith("--events="));
const N = arg ? Number(arg.slice(9)) : 100_000;
const MB = 1024 * 1024;

function snapshot(): { rss: number; heap: number; counts: Record<string, number> } {
  Bun.gc(true);
  Bun.gc(true);
  const { rss, heapUsed } = process.memoryUsage();
  return { rss, heap: heapUsed, counts: { ...heapStats().objectTypeCounts } };
}

const processor = createProcessor({
  appName: () => undefined,
  userAgents: createUserAgentParser(),
  isExcluded: () => false,
});
const ring = new EventRing(N);
const sessions = createSessionTracker({ idleTimeoutMinutes: 30 });
const before = snapshot();
const t0 = Date.now();
for (let i = 0; i < N; i++) {
  // Clock advances 1 ms per 16 events, like a 16 000/s stream.
  const result = processor.process(Buffer.from(testDatagram(i)), "127.0.0.1", t0 + (i >> 4));
  if (result.kind !== "accepted") throw new Error(`[bench] datagram ${i} not accepted: ${result.kind}`);
  ring.push(result.deliverable.event);
  sessions.update(result.deliverable.event);
}
const after = snapshot();

console.log(
  markdownTable(
    ["", "before", `with ${num(N)} events`, "per event"],
    [
      ["RSS (MB)", num(before.rss / MB, 1), num(after.rss / MB, 1), `${num((after.rss - before.rss) / N)} B`],
      [
        "JS heap used (MB)",
        num(before.heap / MB, 1),
        num(after.heap / MB, 1),
        `${num((after.heap - before.heap) / N)} B`,
      ],
    ],
  ),
);
const grown = Object.entries(after.counts)
  .map(([type, count]) => [type, count - (before.counts[type] ?? 0)] as const)
  .filter(([, d]) => d >= N / 10)
  .sort((a, b) => b[1] - a[1]);
console.log("");
console.log(
  markdownTable(
    ["object type", "new objects", "per event"],
    grown.map(([type, d]) => [type, num(d), num(d / N, 2)]),
  ),
);
if (ring.size !== N) throw new Error("[bench] ring did not keep every event");
