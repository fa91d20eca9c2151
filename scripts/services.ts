/**
 * Starts the real test services (InfluxDB 1.x, and mosquitto when its helper exists) on free 127.0.0.1 ports,
 * prints their URLs as one JSON line and stops them on SIGINT/SIGTERM. For benchmarks and manual runs:
 * `bun scripts/services.ts`.
 */
import { existsSync } from "node:fs";
import { startInfluxdb } from "../test/support/influxdb.ts";

type Service = { url: string; close(): Promise<void> };

const services: Record<string, Service> = {};

async function stopAll(): Promise<void> {
  // Reverse start order, so later services that might depend on earlier ones go first.
  for (const service of Object.values(services).reverse()) await service.close().catch(() => {});
}

try {
  services.influxdb = await startInfluxdb();
  const mosquittoHelper = new URL("../test/support/mosquitto.ts", import.meta.url);
  if (existsSync(mosquittoHelper)) {
    const { startMosquitto } = (await import(mosquittoHelper.href)) as {
      startMosquitto: () => Promise<Service>;
    };
    services.mqtt = await startMosquitto();
  }
} catch (error) {
  await stopAll();
  console.error(`[services] start failed: ${(error as Error).message}`);
  process.exit(1);
}

console.log(JSON.stringify(Object.fromEntries(Object.entries(services).map(([name, s]) => [name, s.url]))));

let stopping = false;
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.on(signal, async () => {
    if (stopping) process.exit(1);
    stopping = true;
    await stopAll();
    process.exit(0);
  });
}
// Keep the process alive until a signal arrives.
setInterval(() => {}, 1 << 30);
