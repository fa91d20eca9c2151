import { Database } from "bun:sqlite";
import { afterEach, expect, test } from "bun:test";
import { readdirSync, readFileSync, statSync, truncateSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { loadConfigFile } from "../../src/config/load.ts";
import { createHistoryPart } from "../../src/history/part.ts";
import { createLogger } from "../../src/log.ts";
import { startService } from "../../src/run/service.ts";
import { freeTcpPort, freeUdpPort, getJson, runConfig, type TempDir, tempDir } from "../support/process.ts";
import { events, historyConfig, KNOWN, openPart, store, T0 } from "./support.ts";

const dirs: TempDir[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) d.cleanup();
});

/** A fresh temp dir (cleaned up after the test). */
function dir(): TempDir {
  const d = tempDir("sense-events-history-");
  dirs.push(d);
  return d;
}

/** A real history file holding the known events, closed; returns its path. */
async function writtenFile(d: TempDir): Promise<string> {
  const o = await openPart({ dir: d });
  await store(o.part, events(KNOWN));
  await o.part.close();
  return join(d.path, "h.sqlite");
}

const damages: [string, (path: string) => void][] = [
  ["made of garbage bytes", (path) => writeFileSync(path, Buffer.alloc(8192, 0x5a))],
  ["truncated to half", (path) => truncateSync(path, Math.floor(statSync(path).size / 2))],
  ["truncated inside its header", (path) => truncateSync(path, 50)],
];

test.each(damages)(
  "a history file %s is moved aside, logged once naming both files, and a fresh one starts (reference §19)",
  async (_, damage) => {
    const d = dir();
    const path = await writtenFile(d);
    damage(path);
    const bad = readFileSync(path);
    const lines: string[] = [];
    const log = createLogger({ level: "debug", write: (line) => lines.push(line) });
    const part = await createHistoryPart({ config: historyConfig(d.path), log, now: () => T0 });
    if (part === null) throw new Error("history is off");
    try {
      const aside = readdirSync(d.path).filter((name) => name.startsWith("h.sqlite.bad-"));
      expect(aside).toStrictEqual(["h.sqlite.bad-20250101T100000Z"]);
      // The bad file is kept as it was, for the administrator to look at.
      expect(readFileSync(join(d.path, aside[0] as string)).equals(bad)).toBe(true);
      const errors = lines.filter((line) => line.includes("error"));
      expect(errors).toHaveLength(1);
      expect(errors[0]).toContain(path);
      expect(errors[0]).toContain(join(d.path, "h.sqlite.bad-20250101T100000Z"));
      expect(part.problems()).toHaveLength(1);
      expect(part.problems()[0]).toContain("moved aside");
      // The fresh file takes events.
      expect(part.stats().events).toBe(0);
      await store(part, events(KNOWN));
      expect(part.stats().events).toBe(KNOWN.length);
    } finally {
      await part.close();
    }
  },
);

test("a sound history file reports no problem", async () => {
  const d = dir();
  await writtenFile(d);
  const o = await openPart({ dir: d });
  expect(o.part.problems()).toStrictEqual([]);
  expect(o.part.stats().events).toBe(KNOWN.length);
  await o.part.close();
});

test("a history file of a newer schema still stops the start, and its schema version stays", async () => {
  const d = dir();
  const path = join(d.path, "h.sqlite");
  const db = new Database(path, { create: true });
  db.exec("PRAGMA user_version = 99");
  db.close();
  await expect(
    createHistoryPart({
      config: historyConfig(d.path),
      log: createLogger({ level: "error", write: () => {} }),
    }),
  ).rejects.toThrow("schema version 99");
  expect(readdirSync(d.path).filter((name) => name.includes(".bad-"))).toStrictEqual([]);
  const after = new Database(path, { readonly: true });
  expect(after.query("PRAGMA user_version").get()).toStrictEqual({ user_version: 99 });
  after.close();
});

test("the service keeps running on a corrupt history file and /health says why (reference §19)", async () => {
  const d = dir();
  const path = join(d.path, "sense-events-history.sqlite");
  writeFileSync(path, Buffer.alloc(4096, 0x5a));
  const ports = { udp: await freeUdpPort(), api: await freeTcpPort() };
  const file = d.write("config.yaml", runConfig(ports));
  const loaded = await loadConfigFile(file);
  if (!loaded.ok) throw new Error(JSON.stringify(loaded.errors));
  const lines: string[] = [];
  const log = createLogger({ level: "info", write: (line) => lines.push(line) });
  const service = await startService({ config: loaded.config, configFile: file, log });
  try {
    const health = await getJson(`${service.apiUrl}/health`);
    expect(health.status).toBe("degraded");
    expect(health.problems).toHaveLength(1);
    expect(health.problems[0]).toContain(`history file ${path} cannot be opened`);
    expect(health.problems[0]).toContain(`${path}.bad-`);
    expect(lines.filter((line) => line.includes("cannot be opened"))).toHaveLength(1);
  } finally {
    await service.close();
  }
});
