import { afterAll, expect, test } from "bun:test";
import { stringify } from "yaml";
import { loadConfigFile } from "../../src/config/load.ts";
import { silentLogger } from "../../src/log.ts";
import { type Service, startService } from "../../src/run/service.ts";
import { freeTcpPort, freeUdpPort, runConfig, tempDir } from "../support/process.ts";

const dir = tempDir("sense-events-reload-big-");
let service: Service | null = null;
afterAll(async () => {
  await service?.close();
  dir.cleanup();
});

test("/health keeps answering while a reload parses a big file (regression: it froze for ~8 s)", async () => {
  const ports = { udp: await freeUdpPort(), api: await freeTcpPort() };
  const file = dir.write("config.yaml", runConfig(ports));
  const loaded = await loadConfigFile(file);
  if (!loaded.ok) throw new Error(JSON.stringify(loaded.errors));
  service = await startService({ config: loaded.config, configFile: file, log: silentLogger });
  const api = service.apiUrl;

  // 40,000 keys in an ignored top-level mapping: about a second of parsing, several under load.
  const extra: Record<string, string> = {};
  for (let i = 0; i < 40_000; i++) extra[`key${i}`] = `value${i}`;
  dir.write("config.yaml", `${stringify(runConfig(ports))}extra:\n${stringify(extra).replace(/^/gm, "  ")}`);

  let reloaded = false;
  const reload = fetch(`${api}/api/config/reload`, { method: "POST" }).then(async (r) => {
    reloaded = true;
    return { status: r.status, body: await r.json() };
  });
  let answered = 0;
  while (!reloaded) {
    const health = await fetch(`${api}/health`);
    expect(health.status).toBe(200);
    await health.body?.cancel();
    if (!reloaded) answered++;
    await Bun.sleep(5);
  }
  expect(await reload).toStrictEqual({
    status: 200,
    body: { reloaded: true, changed: [], udpRebound: false, restartRequired: [] },
  });
  // Parsing on the main thread let at most a couple of requests through before the parse started.
  expect(answered).toBeGreaterThanOrEqual(20);
}, 60_000);
