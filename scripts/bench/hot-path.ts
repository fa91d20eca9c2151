/**
 * In-process CPU cost per event of the datagram hot path, with the real modules: parse + enrich
 * (src/ingest/process.ts) + store (src/events/ring.ts, src/events/sessions.ts), with a warm and a cold
 * user-agent cache, and the per-event serialisation for InfluxDB and MQTT. Prints one JSON object.
 *
 *   bun scripts/bench/hot-path.ts [--events=200000]
 */
import { TEST_USER_AGENTS, testDatagram } from "../../src/cli/send-test-events.ts";
import { createUserEventSerializer } from "../../src/destinations/line-protocol.ts";
import { mqttPayload } from "../../src/destinations/mqtt-packet.ts";
import type { DeliverableEvent } from "../../src/events/event.ts";
import { EventRing } from "../../src/events/ring.ts";
import { createSessionTracker } from "../../src/events/sessions.ts";
import { createProcessor } from "../../src/ingest/process.ts";
import { createUserAgentParser } from "../../src/ingest/user-agent.ts";

/** Result of one case: CPU µs per event (user + system) and wall µs per event. */
export interface HotPathCase {
  cpuUsPerEvent: number;
  wallUsPerEvent: number;
  events: number;
}

const encoder = new TextEncoder();

function encodeAll(count: number, make: (i: number) => string): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let i = 0; i < count; i++) out.push(encoder.encode(make(i)));
  return out;
}

/** Only the connection datagrams (index 1 and 2 of each session), which carry a user agent. */
const connection = (i: number): string => testDatagram(4 * (i >> 1) + 1 + (i & 1));

/** A connection datagram whose UA is unique, so every lookup misses the cache. */
function uniqueUa(i: number): string {
  const text = connection(i);
  const ua = TEST_USER_AGENTS.find((u) => text.includes(u)) as string;
  return text.replace(`${ua}'`, `${ua} bench/${i}'`);
}

function measure(datagrams: Uint8Array[], rounds: number, serialize: boolean): HotPathCase {
  const processor = createProcessor({
    appName: () => undefined,
    userAgents: createUserAgentParser(1000),
    isExcluded: () => false,
  });
  const ring = new EventRing(100_000);
  const sessions = createSessionTracker({ idleTimeoutMinutes: 30 });
  const line = createUserEventSerializer({ version: 1, uaTagPrefix: "qs_", tags: [] });
  let sink = 0;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  let n = 0;
  for (let r = 0; r < rounds; r++) {
    for (const bytes of datagrams) {
      const result = processor.process(bytes, "127.0.0.1", Date.now());
      if (result.kind !== "accepted") throw new Error(`[bench] datagram not accepted: ${result.kind}`);
      ring.push(result.deliverable.event);
      sessions.update(result.deliverable.event);
      if (serialize) sink += serializeBoth(line, result.deliverable);
      n++;
    }
  }
  const wall = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  if (sink < 0) console.log(sink);
  return { cpuUsPerEvent: (cpu.user + cpu.system) / n, wallUsPerEvent: (wall * 1000) / n, events: n };
}

function serializeBoth(line: (d: DeliverableEvent) => string, d: DeliverableEvent): number {
  return line(d).length + JSON.stringify({ ...mqttPayload(d, {}), receivedAt: d.event.receivedAt }).length;
}

/** Runs every case and returns µs per event. */
export function runHotPath(events: number): Record<string, HotPathCase> {
  const mixed = encodeAll(4000, testDatagram);
  const connections = encodeAll(4000, connection);
  const cold = encodeAll(Math.min(events, 40_000), uniqueUa);
  const rounds = Math.max(1, Math.round(events / 4000));
  // JIT warm-up on a throwaway processor, so "cold" means a cold UA cache, not cold code.
  measure(mixed, 5, true);
  measure(
    encodeAll(2000, (i) => uniqueUa(i + 1_000_000)),
    1,
    false,
  );
  return {
    "parse + enrich + store, realistic mix, warm UA cache": measure(mixed, rounds, false),
    "parse + enrich + store, connection events, warm UA cache": measure(connections, rounds, false),
    "parse + enrich + store, connection events, cold UA cache (every UA new)": measure(cold, 1, false),
    "parse + enrich + store + InfluxDB line + MQTT JSON, realistic mix, warm": measure(mixed, rounds, true),
  };
}

if (import.meta.main) {
  const arg = process.argv.find((a) => a.startsWith("--events="));
  console.log(JSON.stringify(runHotPath(arg ? Number(arg.slice(9)) : 200_000)));
}
