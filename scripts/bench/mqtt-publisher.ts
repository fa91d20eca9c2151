/**
 * MQTT's own rate for scripts/bench.ts: publishes COUNT copies of a realistic user-event payload to TOPIC with
 * mqtt.js (QoS 0) as fast as it goes, waiting for the write callbacks 1000 at a time, and prints
 * `{"sent":N,"seconds":S}`.
 *
 *   bun scripts/bench/mqtt-publisher.ts mqtt://127.0.0.1:PORT TOPIC COUNT
 */
import mqtt from "mqtt";

const [url, topic, count] = process.argv.slice(2);
const n = Number(count);
const payload = JSON.stringify({
  messageType: "qseow-proxy-connection",
  host: "sense-events-test",
  command: "Open connection",
  userDir: "TEST",
  userId: "testuser1",
  origin: "AppAccess",
  context: "/app/a421f4a2-c311-4ef4-ba41-fe2e6a2b0d69?reloaduri=https://sense-events-test/sense/app/a421f4a2",
  message:
    "App connection Opened for session '00000000'; UserAgent: 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/119.0.0.0 Safari/537.36'",
  tags: {},
  appId: "a421f4a2-c311-4ef4-ba41-fe2e6a2b0d69",
  appName: "<unknown app name>",
  uaBrowserName: "Chrome",
  uaBrowserMajorVersion: "119",
  uaOsName: "Windows",
  uaOsVersion: "10",
  receivedAt: new Date().toISOString(),
});
const client = await mqtt.connectAsync(url as string, { clean: true, queueQoSZero: false });
const start = performance.now();
for (let sent = 0; sent < n; ) {
  const chunk = Math.min(1000, n - sent);
  const writes: Promise<unknown>[] = [];
  for (let i = 0; i < chunk; i++) writes.push(client.publishAsync(topic as string, payload, { qos: 0 }));
  await Promise.all(writes);
  sent += chunk;
}
const seconds = (performance.now() - start) / 1000;
await client.endAsync();
console.log(JSON.stringify({ sent: n, seconds }));
