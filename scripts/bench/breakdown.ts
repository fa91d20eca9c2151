/**
 * Per-step CPU cost of the datagram hot path, to say where the microseconds of `scripts/bench/hot-path.ts` go.
 * Prints two Markdown tables: each step timed on its own in a tight loop over the same 4000 events (a lower
 * bound: strings are reused), and the marginal cost of each step added to the real loop on fresh events
 * (what it costs in the service, GC included).
 *
 *   bun scripts/bench/breakdown.ts [--events=200000]
 */
import { testDatagram } from "../../src/cli/send-test-events.ts";
import { createUserEventSerializer } from "../../src/destinations/line-protocol.ts";
import { mqttPayload } from "../../src/destinations/mqtt-packet.ts";
import type { DeliverableEvent, UserEvent } from "../../src/events/event.ts";
import { EventRing } from "../../src/events/ring.ts";
import { createSessionTracker } from "../../src/events/sessions.ts";
import { extractAppId } from "../../src/ingest/app-id.ts";
import { parseDatagram } from "../../src/ingest/parse.ts";
import { createNsClock, createProcessor, displayAddress } from "../../src/ingest/process.ts";
import { createUserAgentParser } from "../../src/ingest/user-agent.ts";
import { markdownTable, num } from "./stats.ts";

const arg = process.argv.find((a) => a.startsWith("--events="));
const N = arg ? Number(arg.slice(9)) : 200_000;
const buffers = Array.from({ length: 4000 }, (_, i) => Buffer.from(testDatagram(i)));
const processor = createProcessor({
  appName: () => undefined,
  userAgents: createUserAgentParser(),
  isExcluded: () => false,
});
const deliverables: DeliverableEvent[] = buffers.map((b, i) => {
  const r = processor.process(b, "127.0.0.1", 1_700_000_000_000 + (i >> 4));
  if (r.kind !== "accepted") throw new Error("not accepted");
  return r.deliverable;
});
const events: UserEvent[] = deliverables.map((d) => d.event);
const datagrams = buffers.map((b) => parseDatagram(b)).map((r) => (r.ok ? r.datagram : null));
const decoder = new TextDecoder();
const ua = createUserAgentParser();
const clock = createNsClock();
const ring = new EventRing(10_000);
const sessions = createSessionTracker({ idleTimeoutMinutes: 30 });
const line = createUserEventSerializer({ version: 1, uaTagPrefix: "qs_", tags: [] });
let sink = 0;

const steps: [string, (i: number) => void][] = [
  ["TextDecoder.decode (inside parseDatagram)", (i) => (sink += decoder.decode(buffers[i % 4000]).length)],
  [
    "parseDatagram (decode + clean + split)",
    (i) => (sink += parseDatagram(buffers[i % 4000] as Buffer).ok ? 1 : 0),
  ],
  ["extractAppId", (i) => (sink += extractAppId(datagrams[i % 4000]?.context ?? "")?.length ?? 0)],
  ["user agent lookup (warm cache)", (i) => (sink += ua.parse(datagrams[i % 4000]?.message ?? "") ? 1 : 0)],
  [
    "new Date(ms).toISOString()",
    (i) => (sink += new Date(1_700_000_000_000 + (i >> 4)).toISOString().length),
  ],
  ["ns clock stamp (padStart)", (i) => (sink += clock.stamp(1_700_000_000_000 + (i >> 4)).length)],
  ["displayAddress", () => (sink += displayAddress("127.0.0.1").length)],
  [
    "processor.process total",
    (i) =>
      (sink += processor.process(buffers[i % 4000] as Buffer, "127.0.0.1", 1_700_000_000_000 + (i >> 4)).kind
        .length),
  ],
  ["ring.push", (i) => ring.push(events[i % 4000] as UserEvent)],
  ["sessions.update", (i) => sessions.update(events[i % 4000] as UserEvent)],
  [
    "InfluxDB line (createUserEventSerializer)",
    (i) => (sink += line(deliverables[i % 4000] as DeliverableEvent).length),
  ],
  [
    "MQTT payload JSON",
    (i) => (sink += JSON.stringify(mqttPayload(deliverables[i % 4000] as DeliverableEvent, {})).length),
  ],
];

const rows: string[][] = [];
for (const [name, fn] of steps) {
  for (let i = 0; i < 20_000; i++) fn(i); // JIT warm-up
  const cpu0 = process.cpuUsage();
  for (let i = 0; i < N; i++) fn(i);
  const cpu = process.cpuUsage(cpu0);
  const us = (cpu.user + cpu.system) / N;
  rows.push([name, num(us, 2), num(1e6 / us)]);
}
console.log(markdownTable(["step (isolated, reused events)", "CPU µs/event", "per core/s"], rows));

/** The real loop on fresh events, with the chosen steps after processor.process. */
function loop(ring: boolean, sessionsOn: boolean, serialize: boolean): number {
  const p = createProcessor({
    appName: () => undefined,
    userAgents: createUserAgentParser(),
    isExcluded: () => false,
  });
  const r = new EventRing(10_000);
  const st = createSessionTracker({ idleTimeoutMinutes: 30 });
  const cpu0 = process.cpuUsage();
  for (let i = 0; i < N; i++) {
    const result = p.process(buffers[i % 4000] as Buffer, "127.0.0.1", Date.now());
    if (result.kind !== "accepted") continue;
    if (ring) r.push(result.deliverable.event);
    if (sessionsOn) st.update(result.deliverable.event);
    if (serialize) {
      sink += line(result.deliverable).length;
      sink += JSON.stringify(mqttPayload(result.deliverable, {})).length;
    }
  }
  const cpu = process.cpuUsage(cpu0);
  return (cpu.user + cpu.system) / N;
}
loop(true, true, true); // warm-up
const variants: [string, boolean, boolean, boolean][] = [
  ["processor.process only", false, false, false],
  ["+ ring.push", true, false, false],
  ["+ sessions.update", false, true, false],
  ["+ ring.push + sessions.update (the service's store)", true, true, false],
  ["+ store + InfluxDB line + MQTT JSON", true, true, true],
];
const marginal: string[][] = [];
let base = Number.NaN;
for (const [name, ring, sessionsOn, serialize] of variants) {
  const us = Math.min(loop(ring, sessionsOn, serialize), loop(ring, sessionsOn, serialize));
  if (Number.isNaN(base)) base = us;
  marginal.push([name, num(us, 2), Number.isNaN(base) || us === base ? "" : `+${num(us - base, 2)}`]);
}
if (sink === -1) console.log(sink);
console.log("");
console.log(
  markdownTable(["real loop, fresh events (best of 2)", "CPU µs/event", "over process only"], marginal),
);
