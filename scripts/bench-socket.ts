/**
 * Compares UDP receivers side by side in one run: Bun's `node:dgram` with an 8 MiB
 * `recvBufferSize` against `Bun.udpSocket` (no buffer option, kernel default).
 * Senders run in a child process so they do not share the receiver's event loop.
 *
 * Usage: bun scripts/bench-socket.ts [--runs=5] [--rate=100000] [--seconds=3] [--burst=100000]
 *                                    [--rmem-max=BYTES]  (raises net.core.rmem_max first; root only)
 */
import { spawnSync } from "node:child_process";
import dgram from "node:dgram";
import { readFileSync } from "node:fs";
import os from "node:os";

/** A ~330-byte format (a) datagram as the Qlik Sense proxy sends it. */
const DATAGRAM = Buffer.from(
  "/qseow-proxy-connection/;pro2-win1;Open connection;LAB;goran;AppAccess;" +
    "/app/a421f4a2-c311-4ef4-ba41-fe2e6a2b0d69;App connection Opened for session 'c8b1a0f2'; " +
    "UserAgent: 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) " +
    "Chrome/119.0.0.0 Safari/537.36'; ProxySessionId: 'c8b1a0f2-4e1d-4b5a-9c7e'",
);

type SenderKind = "bun-sendMany" | "dgram";
type ReceiverKind = "node:dgram 8 MiB" | "Bun.udpSocket default";

const args = new Map(
  process.argv.slice(2).map((a) => {
    const [k, v] = a.replace(/^--/, "").split("=");
    return [k ?? "", v ?? "true"] as const;
  }),
);
const num = (key: string, fallback: number): number => Number(args.get(key) ?? fallback);

// ---- sender (child process) ----------------------------------------------------------------

async function runSender(kind: SenderKind, port: number, count: number, rate: number): Promise<void> {
  const batch = 256;
  const packets: (Buffer | number | string)[] = [];
  for (let i = 0; i < batch; i++) packets.push(DATAGRAM, port, "127.0.0.1");
  let send: (n: number) => number;
  let close: () => void;
  let flush = async (): Promise<number> => 0;
  if (kind === "bun-sendMany") {
    const socket = await Bun.udpSocket({});
    send = (n) => socket.sendMany(n === batch ? packets : packets.slice(0, n * 3));
    close = () => socket.close();
  } else {
    const socket = dgram.createSocket("udp4");
    await new Promise<void>((r) => socket.bind(0, "127.0.0.1", r));
    send = (n) => {
      for (let i = 0; i < n; i++) socket.send(DATAGRAM, port, "127.0.0.1");
      return n;
    };
    // dgram sends complete asynchronously: wait for the last one so the timing is honest.
    flush = () => new Promise<number>((r) => socket.send(DATAGRAM, port, "127.0.0.1", () => r(1)));
    close = () => socket.close();
  }
  let sent = 0;
  const start = performance.now();
  while (sent < count) {
    // Paced: send what is due by now, then yield ~1 ms; rate 0 means full speed.
    const due = rate > 0 ? Math.min(count, Math.floor(((performance.now() - start) / 1000) * rate)) : count;
    while (sent < due) {
      const n = Math.min(batch, due - sent);
      const done = send(n);
      sent += done;
      if (done < n) break; // send buffer full: retry on the next tick
    }
    if (sent < count) await Bun.sleep(rate > 0 ? 1 : 0);
  }
  sent += await flush();
  const seconds = (performance.now() - start) / 1000;
  close();
  process.stdout.write(JSON.stringify({ sent, seconds }));
}

// ---- receivers -----------------------------------------------------------------------------

interface Receiver {
  port: number;
  effective: number | null;
  count(): { received: number; first: number; last: number };
  close(): void;
}

async function startReceiver(kind: ReceiverKind): Promise<Receiver> {
  let received = 0;
  let first = 0;
  let last = 0;
  const onData = (): void => {
    const t = performance.now();
    if (received === 0) first = t;
    last = t;
    received++;
  };
  const count = () => ({ received, first, last });
  if (kind === "node:dgram 8 MiB") {
    const socket = dgram.createSocket({ type: "udp4", recvBufferSize: 8 * 1024 * 1024 });
    socket.on("message", onData);
    socket.on("error", () => {});
    await new Promise<void>((r) => socket.bind(0, "127.0.0.1", r));
    return {
      port: socket.address().port,
      effective: socket.getRecvBufferSize(),
      count,
      close: () => socket.close(),
    };
  }
  const socket = await Bun.udpSocket({
    hostname: "127.0.0.1",
    port: 0,
    socket: { data: onData, error: () => {} },
  });
  return { port: socket.port, effective: null, count, close: () => socket.close() };
}

function rcvbufErrors(): number | null {
  try {
    const lines = readFileSync("/proc/net/snmp", "utf8")
      .split("\n")
      .filter((l) => l.startsWith("Udp:"));
    const names = lines[0]?.split(/\s+/) ?? [];
    const values = lines[1]?.split(/\s+/) ?? [];
    return Number(values[names.indexOf("RcvbufErrors")]);
  } catch {
    return null;
  }
}

function spawnSender(
  kind: SenderKind,
  port: number,
  count: number,
  rate: number,
): { sent: number; seconds: number } {
  const child = spawnSync(
    process.execPath,
    [import.meta.path, "--send", kind, String(port), String(count), String(rate)],
    {
      encoding: "utf8",
    },
  );
  if (child.status !== 0) throw new Error(`sender failed: ${child.stderr}`);
  return JSON.parse(child.stdout);
}

interface RunResult {
  sent: number;
  received: number;
  lossPct: number;
  rxPerSec: number;
  kernelDrops: number | null;
}

async function runOnce(
  receiver: ReceiverKind,
  sender: SenderKind,
  count: number,
  rate: number,
): Promise<RunResult> {
  const rx = await startReceiver(receiver);
  const dropsBefore = rcvbufErrors();
  // spawnSync blocks this event loop, so the receiver only drains the kernel buffer after the
  // sender exits — that would measure the buffer, not the receiver. Run the sender async instead.
  const child = Bun.spawn(
    [process.execPath, import.meta.path, "--send", sender, String(rx.port), String(count), String(rate)],
    {
      stdout: "pipe",
      stderr: "inherit",
    },
  );
  const out = await new Response(child.stdout).text();
  await child.exited;
  const { sent } = JSON.parse(out) as { sent: number; seconds: number };
  // Drain: wait until nothing new arrives for 200 ms.
  let seen = -1;
  while (rx.count().received !== seen) {
    seen = rx.count().received;
    await Bun.sleep(200);
  }
  const { received, first, last } = rx.count();
  rx.close();
  const dropsAfter = rcvbufErrors();
  return {
    sent,
    received,
    lossPct: (100 * (sent - received)) / sent,
    rxPerSec: received > 1 ? (received - 1) / ((last - first) / 1000) : 0,
    kernelDrops: dropsBefore === null || dropsAfter === null ? null : dropsAfter - dropsBefore,
  };
}

const stat = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return { median: s[Math.floor(s.length / 2)] ?? 0, min: s[0] ?? 0, max: s[s.length - 1] ?? 0 };
};
const fmt = (xs: number[], digits: number) => {
  const { median, min, max } = stat(xs);
  return `${median.toFixed(digits)} (${min.toFixed(digits)}–${max.toFixed(digits)})`;
};

async function main(): Promise<void> {
  const runs = num("runs", 5);
  const rate = num("rate", 100_000);
  const seconds = num("seconds", 3);
  const burst = num("burst", 100_000);
  const rmemMax = args.get("rmem-max");
  if (rmemMax) spawnSync("sysctl", ["-w", `net.core.rmem_max=${rmemMax}`], { stdio: "inherit" });

  const sysctl = (key: string) => readFileSync(`/proc/sys/${key.replaceAll(".", "/")}`, "utf8").trim();
  console.log(
    `# bun ${Bun.version}, ${os.cpus().length} CPUs (${os.cpus()[0]?.model ?? "?"}), load ${os.loadavg()[0]?.toFixed(2)}`,
  );
  console.log(
    `# net.core.rmem_max=${sysctl("net.core.rmem_max")} net.core.rmem_default=${sysctl("net.core.rmem_default")}`,
  );
  console.log(
    `# datagram ${DATAGRAM.length} bytes; ${runs} runs; paced ${rate}/s for ${seconds} s; burst ${burst}`,
  );

  // Pick the faster sender: full-speed 100k to a throwaway dgram receiver with a large buffer.
  const senderSpeed: Record<SenderKind, number[]> = { "bun-sendMany": [], dgram: [] };
  for (let i = 0; i < 3; i++) {
    for (const kind of ["bun-sendMany", "dgram"] as const) {
      const sink = await startReceiver("node:dgram 8 MiB");
      const { sent, seconds: s } = spawnSender(kind, sink.port, burst, 0);
      sink.close();
      senderSpeed[kind].push(sent / s);
    }
  }
  const sender: SenderKind =
    stat(senderSpeed["bun-sendMany"]).median >= stat(senderSpeed.dgram).median ? "bun-sendMany" : "dgram";
  console.log(
    `# sender speed (datagrams/s, median (min–max) of 3): Bun.udpSocket sendMany ${fmt(senderSpeed["bun-sendMany"], 0)}, ` +
      `node:dgram send ${fmt(senderSpeed.dgram, 0)} -> using ${sender}`,
  );

  const scenarios = [
    { name: `paced ${rate}/s × ${seconds} s`, count: rate * seconds, rate },
    { name: `burst ${burst} at full speed`, count: burst, rate: 0 },
  ];
  const receivers: ReceiverKind[] = ["node:dgram 8 MiB", "Bun.udpSocket default"];
  const rows: string[] = [];
  for (const sc of scenarios) {
    const results = new Map<ReceiverKind, RunResult[]>(receivers.map((r) => [r, []]));
    // Interleave receivers so background load hits both alike.
    for (let i = 0; i < runs; i++) {
      for (const r of receivers) results.get(r)?.push(await runOnce(r, sender, sc.count, sc.rate));
    }
    for (const r of receivers) {
      const rs = results.get(r) ?? [];
      const drops = rs.map((x) => x.kernelDrops ?? Number.NaN);
      rows.push(
        `| ${sc.name} | ${r} | ${fmt(
          rs.map((x) => x.lossPct),
          2,
        )} | ${fmt(
          rs.map((x) => x.rxPerSec / 1000),
          0,
        )} | ${fmt(drops, 0)} |`,
      );
    }
  }
  const probe = await startReceiver("node:dgram 8 MiB");
  console.log(`# node:dgram recvBufferSize 8388608 -> getRecvBufferSize() = ${probe.effective}`);
  probe.close();
  console.log("");
  console.log("| scenario | receiver | loss % | receive rate k/s | RcvbufErrors delta |");
  console.log("|---|---|---|---|---|");
  for (const row of rows) console.log(row);
  console.log("\nmedian (min–max)");
}

if (args.has("send")) {
  const [, kind, port, count, rate] = process.argv.slice(2);
  await runSender(kind as SenderKind, Number(port), Number(count), Number(rate));
} else {
  await main();
}
