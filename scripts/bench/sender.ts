/**
 * Datagram senders for scripts/bench.ts: the C `sendmmsg` sender (scripts/bench/sender.c, compiled with the
 * machine's gcc into .cache/) and a Bun `sendMany` sender for comparison. Both run as their own process,
 * cycle through a file of realistic datagrams built with `testDatagram(i)`, and report what they sent.
 *
 *   bun scripts/bench/sender.ts PORT FILE COUNT RATE   (the Bun sender, as a child process)
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { testDatagram } from "../../src/cli/send-test-events.ts";

const ROOT = resolve(import.meta.dir, "../..");
const CACHE = join(ROOT, ".cache");
const SOURCE = join(import.meta.dir, "sender.c");
/** Path of the compiled C sender. */
export const C_SENDER = join(CACHE, "bench-sender");

/** What one sender run reports. */
export interface SendResult {
  sent: number;
  seconds: number;
}

/** Which program sends. */
export type SenderKind = "c-sendmmsg" | "bun-sendMany";

/** Compiles the C sender when missing or older than its source; returns false when gcc is unavailable. */
export function buildCSender(): boolean {
  if (existsSync(C_SENDER) && statSync(C_SENDER).mtimeMs >= statSync(SOURCE).mtimeMs) return true;
  mkdirSync(CACHE, { recursive: true });
  const gcc = spawnSync("gcc", ["-O2", "-o", C_SENDER, SOURCE], { encoding: "utf8" });
  if (gcc.status !== 0) {
    console.error(`[bench] gcc failed, falling back to the Bun sender: ${gcc.stderr ?? gcc.error}`);
    return false;
  }
  return true;
}

/**
 * Writes `count` datagrams from `make(i)` to a newline-separated file under .cache/ and returns its path
 * (datagrams never contain a newline: reference §3.1 strips control characters before anything else).
 */
export function writeDatagramFile(
  name: string,
  count: number,
  make: (i: number) => string = testDatagram,
): string {
  mkdirSync(CACHE, { recursive: true });
  const path = join(CACHE, `bench-${name}.txt`);
  const lines: string[] = [];
  for (let i = 0; i < count; i++) lines.push(make(i).replaceAll("\n", " "));
  writeFileSync(path, `${lines.join("\n")}\n`);
  return path;
}

/** Sends `count` datagrams from `file` to 127.0.0.1:port at `rate`/s (0 = full speed) in a child process. */
export async function send(
  kind: SenderKind,
  port: number,
  file: string,
  count: number,
  rate: number,
  maxSeconds = 120,
): Promise<SendResult> {
  const cmd =
    kind === "c-sendmmsg"
      ? [C_SENDER, String(port), file, String(count), String(rate), String(maxSeconds)]
      : [
          process.execPath,
          import.meta.path,
          String(port),
          file,
          String(count),
          String(rate),
          String(maxSeconds),
        ];
  const child = Bun.spawn(cmd, { stdout: "pipe", stderr: "inherit" });
  const out = await new Response(child.stdout).text();
  const code = await child.exited;
  if (code !== 0) throw new Error(`[bench] sender ${kind} exited with ${code}`);
  const result = JSON.parse(out) as SendResult;
  return { sent: result.sent, seconds: result.seconds };
}

/** The Bun sender: `Bun.udpSocket` `sendMany` in batches of 256, paced per ~1 ms tick. */
async function bunSender(port: number, file: string, count: number, rate: number, maxSeconds: number) {
  const lines = readFileSync(file, "utf8")
    .split("\n")
    .filter(Boolean)
    .map((l) => Buffer.from(l));
  const socket = await Bun.udpSocket({ socket: { error() {} } });
  const batch = 256;
  const packets: (Buffer | number | string)[] = [];
  let sent = 0;
  const start = performance.now();
  while (sent < count && performance.now() - start < maxSeconds * 1000) {
    const elapsed = (performance.now() - start) / 1000;
    const due = rate > 0 ? Math.min(count, Math.floor(elapsed * rate)) : count;
    while (sent < due) {
      const n = Math.min(batch, due - sent);
      packets.length = 0;
      for (let i = 0; i < n; i++) packets.push(lines[(sent + i) % lines.length] as Buffer, port, "127.0.0.1");
      const done = socket.sendMany(packets);
      sent += done;
      if (done < n) break;
    }
    if (sent < count) await Bun.sleep(rate > 0 ? 1 : 0);
  }
  const seconds = (performance.now() - start) / 1000;
  socket.close();
  process.stdout.write(JSON.stringify({ sent, seconds }));
}

if (import.meta.main) {
  const [port, file, count, rate, maxSeconds] = process.argv.slice(2);
  await bunSender(Number(port), file as string, Number(count), Number(rate), Number(maxSeconds ?? 120));
}
