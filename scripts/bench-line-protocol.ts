/**
 * Compares the hand-written `user_events` serializer with @influxdata/influxdb-client's `Point`
 * (`bun scripts/bench-line-protocol.ts [events]`). Prints lines per second for each; short by design.
 */
import { Point } from "@influxdata/influxdb-client";
import { createUserEventSerializer } from "../src/destinations/line-protocol.ts";
import type { DeliverableEvent } from "../src/events/event.ts";

const count = Number(process.argv[2] ?? 200_000);
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

function run(name: string, serialize: (d: DeliverableEvent) => string): void {
  let bytes = 0;
  for (let i = 0; i < 20_000; i++) bytes += serialize(events[i % events.length] as DeliverableEvent).length; // warm-up
  const start = Bun.nanoseconds();
  for (let i = 0; i < count; i++) bytes += serialize(events[i % events.length] as DeliverableEvent).length;
  const seconds = (Bun.nanoseconds() - start) / 1e9;
  console.log(
    `${name.padEnd(14)} ${count} lines in ${(seconds * 1000).toFixed(0)} ms = ${Math.round(count / seconds).toLocaleString("en")} lines/s, ${((seconds / count) * 1e9).toFixed(0)} ns/line (${bytes} chars)`,
  );
}

console.log(`Bun ${Bun.version}`);
for (let round = 0; round < 3; round++) {
  run("hand-written", handWritten);
  run("Point", withPoint);
}
