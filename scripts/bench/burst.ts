/**
 * Burst intake side by side: several binaries (and history on/off) take the same 100,000-datagram burst
 * at full speed, alternating run by run so background load hits them alike. Each run starts a fresh app,
 * sends a 2 s warm-up at 50,000/s (as the first paced step of scripts/bench.ts does), then the burst.
 * Prints a Markdown table of medians (min–max) and writes the runs as JSON.
 *
 *   bun scripts/bench/burst.ts [--runs=3] [--history=on,off] [--json=.cache/bench-burst.json] NAME[:on|:off]=BINARY...
 *
 * A build given as `NAME:off=BINARY` runs with the history off only (e.g. one from before the history
 * existed); a plain `NAME=BINARY` runs once per `--history` mode.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { startApp } from "./app.ts";
import { type BurstResult, burst, type IngestOptions, settle } from "./ingest.ts";
import { buildCSender, send, writeDatagramFile } from "./sender.ts";
import { markdownTable, range, summarize } from "./stats.ts";

const ROOT = resolve(import.meta.dir, "../..");
const options = new Map<string, string>();
const builds: { name: string; binary: string; modes: string | null }[] = [];
for (const a of process.argv.slice(2)) {
  const [k = "", ...v] = a.replace(/^--/, "").split("=");
  const [name = "", modes = null] = k.split(":");
  if (a.startsWith("--")) options.set(k, v.join("="));
  else builds.push({ name, binary: resolve(v.join("=")), modes });
}
if (builds.length === 0) throw new Error("usage: bun scripts/bench/burst.ts [--runs=3] NAME=BINARY...");
const runs = Number(options.get("runs") ?? 3);
const historyModes = (list: string) => list.split(",").map((m) => m !== "off");
const jsonPath = resolve(ROOT, options.get("json") ?? ".cache/bench-burst.json");
if (!buildCSender()) throw new Error("[burst] the C sender is needed");
const file = writeDatagramFile("datagrams", 4000);
const o: IngestOptions = { sender: "c-sendmmsg", file, seconds: 2, steps: [], maxLossPct: 0.1, attempts: 1 };

type Row = { name: string; binary: string; history: boolean; runs: BurstResult[] };
const rows: Row[] = builds.flatMap(({ name, binary, modes }) =>
  historyModes(modes ?? options.get("history") ?? "on").map((history) => ({
    name,
    binary,
    history,
    runs: [],
  })),
);
for (let run = 0; run < runs; run++) {
  for (const row of rows) {
    const app = await startApp([row.binary], { history: row.history });
    try {
      const rx = {
        udpPort: app.udpPort,
        pid: app.pid,
        count: async () => (await app.stats()).datagrams.received,
      };
      await send(o.sender, rx.udpPort, file, 100_000, 50_000, 10);
      await settle(rx.count, 300, 10_000);
      const r = await burst(rx, o, 100_000);
      row.runs.push(r);
      console.error(
        `[burst] run ${run + 1}/${runs} ${row.name} history ${row.history ? "on" : "off"}: kept ${r.received}, ${Math.round(r.receiveRate)}/s, ${r.mainCpuUs.toFixed(1)} µs main thread, ${r.processCpuUs.toFixed(1)} µs process`,
      );
    } finally {
      await app.close();
    }
  }
}
mkdirSync(dirname(jsonPath), { recursive: true });
writeFileSync(jsonPath, `${JSON.stringify(rows, null, 2)}\n`);
const pick = (r: Row, f: (b: BurstResult) => number) => summarize(r.runs.map(f));
console.log(
  markdownTable(
    [
      "build",
      "history",
      "% kept",
      "intake rate (first to last change of the received count), datagrams/s",
      "first to last change, ms",
      "main-thread CPU per datagram, µs",
      "process CPU per datagram, µs",
    ],
    rows.map((r) => [
      r.name,
      r.history ? "on" : "off",
      range(
        pick(r, (b) => 100 - b.lossPct),
        1,
      ),
      range(pick(r, (b) => b.receiveRate)),
      range(pick(r, (b) => b.intakeMs)),
      range(
        pick(r, (b) => b.mainCpuUs),
        1,
      ),
      range(
        pick(r, (b) => b.processCpuUs),
        1,
      ),
    ]),
  ),
);
