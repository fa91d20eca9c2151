/**
 * The former bench counter, kept to measure what it cost (scripts/bench/e2e-steps.ts --counter=mqtt-counter-mqttjs.ts): subscribes with mqtt.js
 * (QoS 0), prints `{"httpPort":N}` once subscribed and serves `GET /` → `{received}`.
 *
 *   bun scripts/bench/mqtt-counter-mqttjs.ts mqtt://127.0.0.1:PORT TOPIC
 */
import mqtt from "mqtt";

const [url, topic] = process.argv.slice(2);
let received = 0;
const client = await mqtt.connectAsync(url as string, { clean: true, reconnectPeriod: 1000 });
client.on("message", () => {
  received++;
});
await client.subscribeAsync(topic as string, { qos: 0 });
const server = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => Response.json({ received }) });
console.log(JSON.stringify({ httpPort: server.port }));

// Bounded lifetime: the bench kills it, and it exits on its own after 15 minutes regardless.
setTimeout(() => process.exit(0), 15 * 60_000);
process.on("SIGTERM", async () => {
  server.stop(true);
  await client.endAsync();
  process.exit(0);
});
