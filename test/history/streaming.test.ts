import { Database } from "bun:sqlite";
import { afterAll, expect, test } from "bun:test";
import { join } from "node:path";
import { historyRoutes } from "../../src/api/history.ts";
import type { HistoryPart } from "../../src/history/part.ts";
import type { TempDir } from "../support/process.ts";
import { events, KNOWN, openPart, store, T0 } from "./support.ts";

const COUNT = 240_000;
let o: { part: HistoryPart; dir: TempDir } | null = null;
afterAll(async () => {
  await o?.part.close();
  o?.dir.cleanup();
});

/** Live heap bytes after a full collection. */
function liveHeap(): number {
  Bun.gc(true);
  return process.memoryUsage().heapUsed;
}

test.each(["csv", "ndjson"])(
  "a %s export of 240,000 events streams: heap and RSS stay flat while it runs (reference §19)",
  async (format) => {
    if (o === null) {
      o = await openPart({ now: () => T0 + 86_400_000 });
      await store(o.part, events(KNOWN));
      // The rest copies those eight rows with new ids and times, straight in SQL (fast to build).
      const db = new Database(join(o.dir.path, "h.sqlite"));
      db.exec(`
        WITH RECURSIVE n(i) AS (SELECT 9 UNION ALL SELECT i + 1 FROM n WHERE i < ${COUNT})
        INSERT INTO events SELECT n.i, ${T0} + n.i * 100, e.host, e.user, e.action, e.app, e.src, e.origin,
          e.context, e.agent, e.addr FROM n JOIN events e ON e.id = 1 + n.i % 8`);
      db.close();
    }
    const part = o.part;
    const app = historyRoutes(
      () => part.queries,
      () => T0 + 86_400_000,
    );
    /** Streams an export to the end; returns its lines, bytes and the peak growth of heap and RSS. */
    async function run(query: string) {
      const before = liveHeap();
      const rssBefore = process.memoryUsage().rss;
      let rssPeak = 0;
      let peak = 0;
      let bytes = 0;
      let chunks = 0;
      let lines = 0;
      const response = await app.request(`/api/history/events?format=${format}&${query}`);
      const reader = (response.body as ReadableStream<Uint8Array>).getReader();
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        bytes += value.byteLength;
        for (let at = value.indexOf(10); at !== -1; at = value.indexOf(10, at + 1)) lines++;
        rssPeak = Math.max(rssPeak, process.memoryUsage().rss - rssBefore);
        if (++chunks % 20 === 1) peak = Math.max(peak, liveHeap() - before);
      }
      return { lines, bytes, peak, rssPeak };
    }
    // A tiny export first: what a Worker costs by itself, whatever the export's size.
    const small = await run(`from=${T0}&to=${T0 + 1000}`);
    const { lines, bytes, peak, rssPeak } = await run(`from=${T0}`);
    expect(lines).toBe(COUNT + (format === "csv" ? 1 : 0));
    // Held in memory, the export alone would be its text size plus the decoded events.
    expect(bytes).toBeGreaterThan(40_000_000);
    expect(peak).toBeLessThan(12_000_000);
    expect(rssPeak - small.rssPeak).toBeLessThan(50_000_000);
  },
  60_000,
);
