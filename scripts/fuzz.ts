/**
 * The long fuzz run of issue 9: 1,000,000 datagrams from test/fuzz/datagram-path.ts's arbitraries
 * through the real datagram path, checking every property; prints the outcome counts and the seed.
 * A failure prints fast-check's shrunk counterexample and exits 1.
 *
 *   bun scripts/fuzz.ts [--runs=1000000] [--seed=N]
 */
import fc from "fast-check";
import { createDatagramPath, datagramArb } from "../test/fuzz/datagram-path.ts";

const arg = (name: string): string | undefined =>
  process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
const runs = Number(arg("runs") ?? 1_000_000);
const seed = Number(arg("seed") ?? Date.now() % 2 ** 31);

const path = createDatagramPath();
const started = performance.now();
let done = 0;
const progress = setInterval(() => {
  console.error(`[fuzz] ${done.toLocaleString("en-US")} / ${runs.toLocaleString("en-US")}`);
}, 30_000);
try {
  fc.assert(
    fc.property(datagramArb, (bytes) => {
      path.check(bytes);
      done++;
    }),
    { numRuns: runs, seed },
  );
} finally {
  clearInterval(progress);
}
const seconds = (performance.now() - started) / 1000;
console.log(
  JSON.stringify({
    runs,
    seed,
    seconds: Math.round(seconds),
    outcomes: path.outcomes,
    counters: { received: path.counters.received, processingErrors: path.counters.processingErrors },
    bun: Bun.version,
  }),
);
