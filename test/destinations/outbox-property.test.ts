import { afterEach, beforeEach, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import type { Destination, SendResult } from "../../src/destinations/destination.ts";
import { createOutbox, type Outbox, type OutboxTimers } from "../../src/destinations/outbox.ts";
import { openSpool } from "../../src/destinations/spool-file.ts";
import { silentLogger } from "../../src/log.ts";

/** Timers on a virtual clock. */
function virtualTimers() {
  let now = 0;
  let id = 0;
  const pending = new Map<number, { at: number; fn: () => void }>();
  const timers: OutboxTimers = {
    set(fn, ms) {
      pending.set(++id, { at: now + ms, fn });
      return id;
    },
    clear: (handle) => pending.delete(handle as number),
  };
  const settle = async () => {
    for (let i = 0; i < 4; i++) await new Promise((resolve) => setImmediate(resolve));
  };
  return {
    timers,
    now: () => now,
    async advance(ms: number) {
      const target = now + ms;
      for (;;) {
        await settle();
        let next: [number, { at: number; fn: () => void }] | undefined;
        for (const entry of pending)
          if (entry[1].at <= target && (!next || entry[1].at < next[1].at)) next = entry;
        if (!next) break;
        pending.delete(next[0]);
        now = Math.max(now, next[1].at);
        next[1].fn();
      }
      now = target;
      await settle();
    },
  };
}

type Mode = "ok" | "retry" | "too_large" | "rejected" | "partial" | "timeout";
type Command =
  | { op: "enqueue"; n: number }
  | { op: "mode"; mode: Mode }
  | { op: "advance"; ms: number }
  | { op: "restart" }
  | { op: "diskFull"; full: boolean }
  | { op: "deleteSpool" };

const command: fc.Arbitrary<Command> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.record({ op: fc.constant("enqueue" as const), n: fc.integer({ min: 1, max: 30 }) }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      op: fc.constant("mode" as const),
      mode: fc.constantFrom<Mode>("ok", "ok", "retry", "too_large", "rejected", "partial", "timeout"),
    }),
  },
  {
    weight: 4,
    arbitrary: fc.record({ op: fc.constant("advance" as const), ms: fc.integer({ min: 0, max: 3000 }) }),
  },
  { weight: 1, arbitrary: fc.constant({ op: "restart" as const }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant("diskFull" as const), full: fc.boolean() }) },
  { weight: 1, arbitrary: fc.constant({ op: "deleteSpool" as const }) },
);

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "outbox-property-"));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

test(
  "for random sequences, enqueued = sent + dropped + queued at every step, and everything not dropped is delivered at least once (reference §9)",
  async () => {
    let run = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(command, { minLength: 5, maxLength: 40 }), async (commands) => {
        const path = join(dir, `spool-${run++}.sqlite`);
        const clock = virtualTimers();
        let mode: Mode = "ok";
        let full = false;
        const hanging: ((r: SendResult) => void)[] = [];
        const delivered = new Set<string>();
        const destination: Destination = {
          name: "d",
          maxBatchItems: 8,
          maxBatchBytes: Number.POSITIVE_INFINITY,
          flushIntervalMs: 100,
          serialize: () => [],
          send: (items) => {
            const m = mode;
            if (m === "ok") for (const item of items) delivered.add(item);
            if (m === "partial") for (const item of items.slice(1)) delivered.add(item);
            if (m === "timeout") return new Promise((resolve) => hanging.push(resolve));
            const results: Record<Exclude<Mode, "timeout">, SendResult> = {
              ok: { kind: "ok" },
              retry: { kind: "retry", error: "503" },
              too_large: { kind: "too_large", error: "413" },
              rejected: { kind: "rejected", error: "400" },
              partial: { kind: "partial", error: "partial write: dropped=1", dropped: 1, reason: "rejected" },
            };
            return Promise.resolve(results[m]);
          },
          close: async () => {},
        };
        const faults = {
          beforeWrite() {
            if (full) throw Object.assign(new Error("database or disk is full"), { code: "SQLITE_FULL" });
          },
        };
        let enqueuedTotal = 0;
        let droppedBefore = 0;
        let lostAtStop = 0;
        let seq = 0;
        const open = (): { box: Outbox; base: number } => {
          const box = createOutbox({
            spool: openSpool(path, silentLogger, clock.now, faults),
            memoryItems: 5,
            maxBytes: 600,
            log: silentLogger,
            now: clock.now,
            timers: clock.timers,
            random: () => 0.5,
            watchMs: 500,
          });
          box.attach(destination);
          const s = box.stats().d;
          return { box, base: s ? s.queued.memory + s.queued.spool : 0 };
        };
        let { box, base } = open();
        const check = () => {
          const s = box.stats().d;
          if (!s) return;
          const dropped = Object.values(s.dropped).reduce((a, b) => a + b, 0);
          expect(s.enqueued + base).toBe(s.sent + dropped + s.queued.memory + s.queued.spool);
        };
        /** flush() waits on the outbox's timers, which only run when the virtual clock advances. */
        const stop = async () => {
          const flushing = box.flush(0);
          await clock.advance(0);
          lostAtStop += (await flushing).lost;
          await box.close();
        };
        const droppedNow = () => Object.values(box.stats().d?.dropped ?? {}).reduce((a, b) => a + b, 0);
        try {
          for (const c of commands) {
            if (c.op === "enqueue") {
              box.enqueue(
                "d",
                Array.from({ length: c.n }, () => `item-${String(seq++).padStart(6, "0")}`),
              );
              enqueuedTotal += c.n;
            } else if (c.op === "mode") {
              mode = c.mode;
              if (mode !== "timeout")
                for (const resolve of hanging.splice(0)) resolve({ kind: "retry", error: "timeout" });
            } else if (c.op === "advance") {
              await clock.advance(c.ms);
            } else if (c.op === "restart") {
              for (const resolve of hanging.splice(0)) resolve({ kind: "retry", error: "timeout" });
              await stop();
              droppedBefore += droppedNow();
              ({ box, base } = open());
            } else if (c.op === "diskFull") {
              full = c.full;
            } else {
              rmSync(path, { force: true });
            }
            check();
          }
          // Heal everything and let it drain: every item not counted as dropped arrives.
          mode = "ok";
          full = false;
          for (const resolve of hanging.splice(0)) resolve({ kind: "retry", error: "timeout" });
          await stop();
          droppedBefore += droppedNow();
          ({ box, base } = open());
          for (let i = 0; i < 40 && (box.stats().d?.queued.memory || box.stats().d?.queued.spool); i++)
            await clock.advance(60_000);
          check();
          const dropped = droppedBefore + droppedNow() + lostAtStop;
          expect(box.stats().d?.queued ?? { memory: 0, spool: 0 }).toStrictEqual({ memory: 0, spool: 0 });
          expect(enqueuedTotal - delivered.size).toBeLessThanOrEqual(dropped);
        } finally {
          for (const resolve of hanging.splice(0)) resolve({ kind: "retry", error: "timeout" });
          await box.close();
        }
      }),
      // Bounded for `npm test`; OUTBOX_PROPERTY_RUNS=500 explores further.
      { numRuns: Number(process.env.OUTBOX_PROPERTY_RUNS ?? 25) },
    );
  },
  Math.max(60_000, Number(process.env.OUTBOX_PROPERTY_RUNS ?? 0) * 1000),
);
