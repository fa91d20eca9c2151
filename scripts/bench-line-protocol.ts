/**
 * Compares the hand-written `user_events` serializer with @influxdata/influxdb-client's `Point`, and the
 * hand-written one with one user-agent tag set (`uaTagPrefix: qs_`) against both sets (the default, reference §22)
 * (`bun scripts/bench-line-protocol.ts [events] [rounds]`). Prints process CPU time per line for each round (CPU
 * time, so a machine busy with other work does not inflate it), then the median
 * and the UTF-8 bytes per line of each; short by design.
 */
import { Point } from "@influxdata/influxdb-client";
import { createUserEventSerializer } from "../src/destinations/line-protocol.ts";
import type { DeliverableEvent } from "../src/events/event.ts";

const count = Number(process.argv[2] ?? 200_000);
const rounds = Number(process.argv[3] ?? 5);
const base = Date.UTC(2024, 10, 20, 8, 15, 42, 123);

// Varying users and hosts, so neither side benefits from identical strings.
const events: DeliverableEvent[] = Array.from({ length: 1000 }, (_, i) => {
  const receivedAtMs = base + i;
  const userId = `user${i % 97}`;
  return {
    event: {
      id: i + 1,
      receivedAt: new Date(receivedAtMs).toISOString(),
      source: "qseow-proxy-connection",
      host: `pro2-win${i % 4}`,
      action: i % 2 ? "Open connection" : "Close connection",
      userDirectory: "LAB",
      userId,
      origin: "AppAccess",
      context: "/app/a421f4a2-c311-4ef4-ba41-fe2e6a2b0d69",
      appId: "a421f4a2-c311-4ef4-ba41-fe2e6a2b0d69",
      appName: "Sales analysis",
      message: "App connection Opened",
      userAgent: {
        raw: "ua",
        browserName: "Chrome",
        browserMajorVersion: "119",
        osName: "Windows",
        osVersion: "10",
      },
      remoteAddress: "10.0.1.21",
    },
    receivedAtMs,
    timeNs: `${receivedAtMs}000000`,
    userFull: `LAB\\${userId}`,
  };
});
const tags = [
  { name: "qs_env", value: "dev" },
  { name: "env2", value: "a b,c=d" },
];

const handWritten = createUserEventSerializer({ version: 2, uaTagPrefix: "qs_", tags });
const bothSets = createUserEventSerializer({ version: 2, tags });
const bothNoUserTags = createUserEventSerializer({ version: 2, tags, userTags: false });

function withPoint(d: DeliverableEvent): string {
  const e = d.event;
  const p = new Point("user_events")
    .tag("host", e.host)
    .tag("event_action", e.action)
    .tag("userFull", d.userFull)
    .tag("userDirectory", e.userDirectory)
    .tag("userId", e.userId)
    .tag("origin", e.origin)
    .tag("appId", e.appId ?? "")
    .tag("appName", e.appName ?? "<unknown app name>")
    .tag("qs_uaBrowserName", e.userAgent?.browserName ?? "")
    .tag("qs_uaBrowserMajorVersion", e.userAgent?.browserMajorVersion ?? "")
    .tag("qs_uaOsName", e.userAgent?.osName ?? "")
    .tag("qs_uaOsVersion", e.userAgent?.osVersion ?? "");
  for (const t of tags) p.tag(t.name, t.value);
  p.stringField("userFull", d.userFull)
    .stringField("userId", e.userId)
    .stringField("appId_field", e.appId ?? "")
    .stringField("appName_field", e.appName ?? "")
    .timestamp(d.timeNs);
  return p.toLineProtocol() ?? "";
}

/** CPU time of this process in ns; unlike wall time it does not count time spent waiting for a busy CPU. */
function cpuNs(): number {
  const { user, system } = process.cpuUsage();
  return (user + system) * 1000;
}

/** Serializes `count` events; returns CPU ns per line. */
function run(name: string, serialize: (d: DeliverableEvent) => string): number {
  let chars = 0;
  for (let i = 0; i < 20_000; i++) chars += serialize(events[i % events.length] as DeliverableEvent).length; // warm-up
  const wall = Bun.nanoseconds();
  const cpu = cpuNs();
  for (let i = 0; i < count; i++) chars += serialize(events[i % events.length] as DeliverableEvent).length;
  const perLine = (cpuNs() - cpu) / count;
  const wallMs = (Bun.nanoseconds() - wall) / 1e6;
  console.log(
    `${name.padEnd(22)} ${count} lines in ${wallMs.toFixed(0)} ms wall, ${perLine.toFixed(0)} CPU ns/line = ${Math.round(1e9 / perLine).toLocaleString("en")} lines per CPU-second (${chars} chars)`,
  );
  return perLine;
}

/** Mean UTF-8 bytes of one line (with its newline) over the 1000 sample events, plain and in a gzipped batch. */
function bytesPerLine(serialize: (d: DeliverableEvent) => string): { plain: number; gzip: number } {
  const body = events.map((d) => `${serialize(d)}\n`).join("");
  // The InfluxDB destination gzips every body over 1 KiB at this level (src/destinations/influxdb.ts).
  const gzip = Bun.gzipSync(body, { level: 1 }).length;
  return { plain: Buffer.byteLength(body) / events.length, gzip: gzip / events.length };
}

const serializers: [string, (d: DeliverableEvent) => string][] = [
  ["hand-written qs_ only", handWritten],
  ["hand-written both sets", bothSets],
  ["both, userTags false", bothNoUserTags],
  ["Point (qs_ only)", withPoint],
];
const times = new Map<string, number[]>(serializers.map(([name]) => [name, []]));
console.log(`Bun ${Bun.version}`);
// Each round starts with a different serializer, so JIT and turbo effects do not favour one.
for (let round = 0; round < rounds; round++) {
  for (let k = 0; k < serializers.length; k++) {
    const [name, serialize] = serializers[(round + k) % serializers.length] as (typeof serializers)[number];
    times.get(name)?.push(run(name, serialize));
  }
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;
console.log(`\nmedian of ${rounds} rounds, ${count} lines each:`);
for (const [name, serialize] of serializers) {
  const ns = median(times.get(name) ?? []);
  const bytes = bytesPerLine(serialize);
  console.log(
    `${name.padEnd(22)} ${ns.toFixed(0)} CPU ns/line = ${Math.round(1e9 / ns).toLocaleString("en")} lines per CPU-second, ${bytes.plain.toFixed(1)} bytes/line, ${bytes.gzip.toFixed(1)} gzipped in a 1000-line batch`,
  );
}
