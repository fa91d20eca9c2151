/**
 * InfluxDB 1.x side of scripts/bench.ts: counting stored `user_events` points and measuring InfluxDB's own
 * batched ingest rate with the same line protocol sense-events writes.
 */
import { testDatagram } from "../../src/cli/send-test-events.ts";
import { createUserEventSerializer } from "../../src/destinations/line-protocol.ts";
import { createProcessor } from "../../src/ingest/process.ts";
import { createUserAgentParser } from "../../src/ingest/user-agent.ts";

async function query(url: string, q: string, db?: string): Promise<unknown> {
  const body = new URLSearchParams(db ? { q, db } : { q });
  const res = await fetch(`${url}/query`, { method: "POST", body });
  if (!res.ok) throw new Error(`[bench] influx query failed: ${res.status} ${await res.text()}`);
  return res.json();
}

/** Creates a database (idempotent). */
export async function createDatabase(url: string, db: string): Promise<void> {
  await query(url, `CREATE DATABASE "${db}"`);
}

/** Number of `user_events` points in `db` (0 when the measurement does not exist yet). */
export async function countUserEvents(url: string, db: string): Promise<number> {
  const json = (await query(url, "SELECT count(userId) FROM user_events", db)) as {
    results?: { series?: { values?: [string, number][] }[] }[];
  };
  return json.results?.[0]?.series?.[0]?.values?.[0]?.[1] ?? 0;
}

/** `count` `user_events` lines as sense-events writes them for v1 (real processor and serializer), unique timestamps. */
export function userEventLines(count: number, startMs: number): string[] {
  const encoder = new TextEncoder();
  const processor = createProcessor({
    appName: () => undefined,
    userAgents: createUserAgentParser(),
    isExcluded: () => false,
  });
  const serialize = createUserEventSerializer({ version: 1, uaTagPrefix: "qs_", tags: [] });
  const lines: string[] = [];
  for (let i = 0; i < count; i++) {
    const result = processor.process(encoder.encode(testDatagram(i)), "127.0.0.1", startMs + i);
    if (result.kind === "accepted") lines.push(serialize(result.deliverable));
  }
  return lines;
}

/**
 * InfluxDB's own batched ingest rate: POSTs `lines` to /write in batches of `batchSize`, one request in flight
 * (as the outbox does), and returns lines per second.
 */
export async function influxOwnRate(
  url: string,
  db: string,
  lines: string[],
  batchSize: number,
): Promise<number> {
  await createDatabase(url, db);
  const bodies: string[] = [];
  for (let i = 0; i < lines.length; i += batchSize) bodies.push(lines.slice(i, i + batchSize).join("\n"));
  const start = performance.now();
  for (const body of bodies) {
    const res = await fetch(`${url}/write?db=${encodeURIComponent(db)}&precision=ns`, {
      method: "POST",
      headers: { "Content-Type": "text/plain; charset=utf-8" },
      body,
    });
    if (res.status !== 204) throw new Error(`[bench] influx write failed: ${res.status} ${await res.text()}`);
  }
  const seconds = (performance.now() - start) / 1000;
  const stored = await countUserEvents(url, db);
  if (stored !== lines.length) throw new Error(`[bench] influx stored ${stored} of ${lines.length} lines`);
  return lines.length / seconds;
}
