/**
 * Ingest measurements of scripts/bench.ts: stepped paced rates until loss reaches 0.1 %, and a burst at
 * full speed, against any receiver that can report how many datagrams it has taken in.
 */
import { type SenderKind, send } from "./sender.ts";

/** A receiver under test: where to send, and a monotonic count of datagrams taken in. */
export interface CountingReceiver {
  udpPort: number;
  count(): Promise<number>;
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

/**
 * Steps through `o.steps` and returns every step run plus the highest passing rate. Stops at the first
 * step that loses ≥ maxLossPct, or where the sender could not reach 95 % of the target (sender-limited).
 */
export async function stepRates(
  rx: CountingReceiver,
  o: IngestOptions,
): Promise<{ steps: StepResult[]; best: number; limitedBy: "loss" | "sender" | "steps" }> {
  const steps: StepResult[] = [];
  let best = 0;
  for (const rate of o.steps) {
    const step = await pacedStep(rx, o, rate);
    steps.push(step);
    if (step.lossPct >= o.maxLossPct) return { steps, best, limitedBy: "loss" };
    if (step.sendRate < rate * 0.95) {
      // The receiver kept up with what the sender managed: credit the achieved rate.
      best = Math.max(best, step.sendRate);
      return { steps, best, limitedBy: "sender" };
    }
    best = rate;
    await Bun.sleep(300);
  }
  return { steps, best, limitedBy: "steps" };
}

/** Burst result: loss, and the rate at which the receiver took the burst in. */
export interface BurstResult {
  sent: number;
  received: number;
  lossPct: number;
  sendRate: number;
  /** Received / (time from the first to the last observed count change), sampled every `pollMs`. */
  receiveRate: number;
}

/** Sends `count` datagrams at full speed, polling the receiver's count to time the intake. */
export async function burst(
  rx: CountingReceiver,
  o: IngestOptions,
  count: number,
  pollMs = 10,
): Promise<BurstResult> {
  const before = await settle(rx.count, 200, 3000);
  let first = 0;
  let last = 0;
  let seen = before;
  let polling = true;
  const poller = (async () => {
    const deadline = performance.now() + 30_000;
    while (polling && performance.now() < deadline) {
      const now = await rx.count();
      const t = performance.now();
      if (now !== seen) {
        if (first === 0) first = t - pollMs / 2;
        last = t;
        seen = now;
      }
      await Bun.sleep(pollMs);
    }
  })();
  const start = performance.now();
  const sent = await send(o.sender, rx.udpPort, o.file, count, 0, 30);
  if (first === 0) first = start;
  const after = await settle(rx.count);
  polling = false;
  await poller;
  const received = after - before;
  return {
    sent: sent.sent,
    received,
    lossPct: (100 * (sent.sent - received)) / sent.sent,
    sendRate: sent.sent / sent.seconds,
    receiveRate: last > first ? received / ((last - first) / 1000) : Number.NaN,
  };
}
