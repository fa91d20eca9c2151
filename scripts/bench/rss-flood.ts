/**
 * RSS after a flood (issue 9): runs the built binary with `events.capacity: 100000`, sends `--count`
 * datagrams (default 600,000) with the C sender at `--rate`/s, waits until every one is counted, then
 * reads the binary's RSS from /proc every second for 10 s. Prints a markdown table per datagram mix.
 *
 *   bun scripts/build.ts --only linux-x64 && bun scripts/bench/rss-flood.ts [--count=600000] [--rate=40000] [--mix=realistic]
 */
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { stringify } from "yaml";
import { testDatagram } from "../../src/cli/send-test-events.ts";
import { freeTcpPort, freeUdpPort, ROOT, tempDir } from "../../test/support/process.ts";
import { buildCSender, send, writeDatagramFile } from "./sender.ts";
import { markdownTable, num } from "./stats.ts";

const BINARY = join(ROOT, "dist/sense-events-linux-x64");
const arg = (name: string, fallback: number): number => {
  const a = process.argv.find((x) => x.startsWith(`--${name}=`));
  return a ? Number(a.slice(name.length + 3)) : fallback;
};
const COUNT = arg("count", 600_000);
const RATE = arg("rate", 40_000);
const MB = 1024 * 1024;

/** Resident set size of a process in bytes, from /proc. */
function rss(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const kb = /VmRSS:\s+(\d+)/.exec(status)?.[1];
  return Number(kb) * 1024;
}

/** The datagram mixes: Qlik's usual traffic, and a hostile one with a new user and a 60 KB field in each. */
const MIXES: Record<string, (i: number) => string> = {
  "realistic (send-test-events datagrams)": testDatagram,
  "hostile (50,000 users, 1.2 KB message)": (i) =>
    `/qseow-proxy-connection/;node${i % 7};Open connection;FLOOD;user${i};AppAccess;/app/;${"m".repeat(1200)}${i}`,
};

async function run(mix: string, make: (i: number) => string): Promise<string[]> {
  const dir = tempDir("sense-events-rss-");
  const ports = { udp: await freeUdpPort(), api: await freeTcpPort() };
  const config = join(dir.path, "config.yaml");
  writeFileSync(
    config,
    stringify({
      "Butler-SOS": {
        userEvents: { udpServerConfig: { serverHost: "127.0.0.1", portUserActivityEvents: ports.udp } },
      },
      "sense-events": {
        api: { port: ports.api },
        events: { capacity: 100_000 },
        outbox: { path: "" },
        log: { level: "warn" },
      },
    }),
  );
  const child = Bun.spawn([BINARY, "-c", config], { stdout: "ignore", stderr: "inherit" });
  const api = `http://127.0.0.1:${ports.api}`;
  const stats = async () =>
    (await (await fetch(`${api}/api/stats`)).json()) as { datagrams: { received: number } };
  try {
    for (let i = 0; ; i++) {
      try {
        await stats();
        break;
      } catch {
        if (i > 100) throw new Error("[bench] the binary did not start");
        await Bun.sleep(100);
      }
    }
    const idle = rss(child.pid);
    const file = writeDatagramFile(`rss-${mix.split(" ")[0]}`, 50_000, make);
    const sent = await send("c-sendmmsg", ports.udp, file, COUNT, RATE);
    // Wait until the receiver has counted everything it will get (the count stops moving).
    let last = -1;
    for (;;) {
      const received = (await stats()).datagrams.received;
      if (received === last) break;
      last = received;
      await Bun.sleep(500);
    }
    const peak = rss(child.pid);
    const samples: number[] = [];
    for (let s = 1; s <= 10; s++) {
      await Bun.sleep(1000);
      samples.push(rss(child.pid));
    }
    const under = samples.findIndex((b) => b < 150 * MB);
    return [
      mix,
      num(sent.sent),
      num(last),
      num(idle / MB, 0),
      num(peak / MB, 0),
      samples.map((b) => num(b / MB, 0)).join(" "),
      under === -1 ? "no" : `after ${under + 1} s`,
    ];
  } finally {
    child.kill();
    await child.exited;
    dir.cleanup();
  }
}

if (!existsSync(BINARY)) throw new Error("[bench] build first: bun scripts/build.ts --only linux-x64");
if (!buildCSender()) throw new Error("[bench] the C sender needs gcc");
const rows: string[][] = [];
const only = process.argv.find((a) => a.startsWith("--mix="))?.slice(6);
for (const [mix, make] of Object.entries(MIXES))
  if (!only || mix.startsWith(only)) rows.push(await run(mix, make));
console.log(
  markdownTable(
    [
      "mix",
      "sent",
      "received",
      "RSS idle (MB)",
      "RSS at end of flood",
      "RSS each second for 10 s",
      "< 150 MB",
    ],
    rows,
  ),
);
