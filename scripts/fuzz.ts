/**
 * The long fuzz run of issue 9: 1,000,000 datagrams from test/fuzz/datagram-path.ts's arbitraries
 * through the real datagram path, checking every property, in chunks of 10,000 (seed, seed + 1, …)
 * with a progress line after each; prints the outcome counts at the end. A failure prints
 * fast-check's shrunk counterexample (and the chunk's seed to replay it) and exits 1.
 *
 *   bun scripts/fuzz.ts [--runs=1000000] [--seed=N]
 */
import fc from "fast-check";
import { createDatagramPath, datagramArb } from "../test/fuzz/datagram-path.ts";

const arg = (name: string): string | undefined =>
  process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
const runs = Number(arg("runs") ?? 1_000_000);
const seed = Number(arg("seed") ?? Date.now() % 2 ** 31);
const CHUNK = 10_000;

const path = createDatagramPath();
const started = performance.now();
for (let done = 0, chunk = 0; done < runs; chunk++) {
  const numRuns = Math.min(CHUNK, runs - done);
  fc.assert(
    fc.property(datagramArb, (bytes) => path.check(bytes)),
    { numRuns, seed: seed + chunk },
  );
  done += numRuns;
  const seconds = Math.round((performance.now() - started) / 1000);
  console.error(
    `[fuzz] ${done.toLocaleString("en-US")} / ${runs.toLocaleString("en-US")} cases, ${seconds} s`,
  );
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
