/**
 * Ingest measurements of scripts/bench.ts: stepped paced rates until loss reaches 0.1 %, and a burst at
 * full speed, against any receiver that can report how many datagrams it has taken in.
 */
import { readFileSync } from "node:fs";
import { type SenderKind, send } from "./sender.ts";

/** A receiver under test: where to send, and a monotonic count of datagrams taken in. */
export interface CountingReceiver {
  udpPort: number;
  count(): Promise<number>;
  /** Process id, for the main thread's CPU time; absent for receivers that are not sense-events. */
  pid?: number;
}

/** Linux's USER_HZ: /proc reports CPU times in these ticks. */
const TICKS_PER_SECOND = 100;

/** User + system CPU time in ms from one line of /proc/<pid>/task/<tid>/stat (the name may hold spaces or ")"). */
export function statCpuMs(stat: string): number {
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  // After the name: state is field 3 of proc(5), utime 14 and stime 15.
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / TICKS_PER_SECOND;
}

/**
 * CPU time in ms of thread `tid` of `pid`, or of the whole process (all its threads) without `tid`;
 * NaN when it cannot be read.
 */
export function cpuMs(pid: number, tid?: number): number {
  try {
    const path = tid === undefined ? `/proc/${pid}/stat` : `/proc/${pid}/task/${tid}/stat`;
    return statCpuMs(readFileSync(path, "utf8"));
  } catch {
    return Number.NaN;
  }
}

/** One paced step. */
export interface StepResult {
  target: number;
  sent: number;
  sendRate: number;
  received: number;
  lossPct: number;
}

/** Options shared by the ingest measurements. */
export interface IngestOptions {
  sender: SenderKind;
  file: string;
  /** Seconds per paced step. */
  seconds: number;
  /** Step rates, ascending. */
  steps: number[];
  /** Loss limit of a passing step, percent. */
  maxLossPct: number;
  /** Tries per step; a step passes when one try passes (the machine may be shared). */
  attempts: number;
}

/** Waits until the count stops changing for `quietMs` (at most `maxMs`) and returns it. */
export async function settle(count: () => Promise<number>, quietMs = 300, maxMs = 10_000): Promise<number> {
  const deadline = performance.now() + maxMs;
  let last = await count();
  let since = performance.now();
  while (performance.now() < deadline) {
    await Bun.sleep(50);
    const now = await count();
    if (now !== last) {
      last = now;
      since = performance.now();
    } else if (performance.now() - since >= quietMs) {
      break;
    }
  }
  return last;
}

/** Sends one paced step and measures the loss. */
export async function pacedStep(rx: CountingReceiver, o: IngestOptions, rate: number): Promise<StepResult> {
  const before = await settle(rx.count, 200, 3000);
  const sent = await send(o.sender, rx.udpPort, o.file, Math.round(rate * o.seconds), rate, o.seconds * 3);
  const after = await settle(rx.count);
  const received = after - before;
  return {
    target: rate,
    sent: sent.sent,
    sendRate: sent.sent / sent.seconds,
    received,
    lossPct: (100 * (sent.sent - received)) / sent.sent,
  };
}

/** The stepping outcome of one receiver. */
export interface StepOutcome {
  steps: StepResult[];
  best: number;
  limitedBy: "loss" | "sender" | "steps";
}

/**
 * Steps every receiver through `o.steps` in lockstep (receiver A, then B, at each rate), so background load
 * hits them alike. A step passes when one of `o.attempts` tries loses < maxLossPct. A receiver stops at its
 * first failing step, or where the sender could not reach 95 % of the target (it is then credited with the
 * rate the sender reached).
 */
export async function stepRates(receivers: CountingReceiver[], o: IngestOptions): Promise<StepOutcome[]> {
  const out: StepOutcome[] = receivers.map(() => ({ steps: [], best: 0, limitedBy: "steps" }));
  const active = receivers.map(() => true);
  for (const rate of o.steps) {
    if (!active.some(Boolean)) break;
    for (const [i, rx] of receivers.entries()) {
      const result = out[i] as StepOutcome;
      if (!active[i]) continue;
      let step = await pacedStep(rx, o, rate);
      for (let a = 1; a < o.attempts && step.lossPct >= o.maxLossPct; a++) {
        result.steps.push(step);
        await Bun.sleep(500);
        step = await pacedStep(rx, o, rate);
      }
      result.steps.push(step);
      if (step.lossPct >= o.maxLossPct) {
        active[i] = false;
        result.limitedBy = "loss";
      } else if (step.sendRate < rate * 0.95) {
        active[i] = false;
        result.limitedBy = "sender";
        result.best = Math.max(result.best, step.sendRate);
      } else {
        result.best = rate;
      }
      await Bun.sleep(300);
    }
  }
  return out;
}

/** Burst result: loss, and the rate at which the receiver took the burst in. */
export interface BurstResult {
  sent: number;
  received: number;
  lossPct: number;
  sendRate: number;
  /**
   * Received / (time from the first to the last observed count change), sampled every `pollMs`. For
   * sense-events the count moves when the main thread has processed a datagram (the receive thread
   * only queues it), so this is the main thread's processing rate during the burst.
   */
  receiveRate: number;
  /** Milliseconds from the first to the last observed count change. */
  intakeMs: number;
  /**
   * Main-thread CPU time per datagram received, µs, from the settled count before the burst to the
   * settled count after it (NaN without `rx.pid`). Unlike the rates, a busy machine hardly moves it.
   */
  mainCpuUs: number;
  /** The same for the whole process (the receive thread, other workers and the GC threads too). */
  processCpuUs: number;
  /** [ms since the send started, datagrams taken in since] at each observed count change. */
  timeline: [number, number][];
}

/** Sends `count` datagrams at full speed, polling the receiver's count to time the intake. */
export async function burst(
  rx: CountingReceiver,
  o: IngestOptions,
  count: number,
  pollMs = 10,
): Promise<BurstResult> {
  const before = await settle(rx.count, 200, 3000);
  const cpu = () =>
    rx.pid === undefined ? [Number.NaN, Number.NaN] : [cpuMs(rx.pid, rx.pid), cpuMs(rx.pid)];
  const [mainBefore = 0, processBefore = 0] = cpu();
  const start = performance.now();
  let first = 0;
  let last = 0;
  let seen = before;
  let polling = true;
  const timeline: [number, number][] = [];
  const poller = (async () => {
    const deadline = performance.now() + 30_000;
    while (polling && performance.now() < deadline) {
      const now = await rx.count();
      const t = performance.now();
      if (now !== seen) {
        if (first === 0) first = t - pollMs / 2;
        last = t;
        timeline.push([Math.round(t - start), now - before]);
        seen = now;
      }
      await Bun.sleep(pollMs);
    }
  })();
  const sent = await send(o.sender, rx.udpPort, o.file, count, 0, 30);
  if (first === 0) first = start;
  const after = await settle(rx.count);
  polling = false;
  await poller;
  const [mainAfter = 0, processAfter = 0] = cpu();
  const received = after - before;
  return {
    sent: sent.sent,
    received,
    lossPct: (100 * (sent.sent - received)) / sent.sent,
    sendRate: sent.sent / sent.seconds,
    receiveRate: last > first ? received / ((last - first) / 1000) : Number.NaN,
    intakeMs: last > first ? last - first : Number.NaN,
    mainCpuUs: received > 0 ? ((mainAfter - mainBefore) * 1000) / received : Number.NaN,
    processCpuUs: received > 0 ? ((processAfter - processBefore) * 1000) / received : Number.NaN,
    timeline,
  };
}
