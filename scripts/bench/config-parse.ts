/**
 * Config parse time for one mapping of N keys (issue 9): the yaml package with its own duplicate-key
 * check (quadratic) against parseConfigText (uniqueKeys: false plus a linear check), median of --runs.
 *
 *   bun scripts/bench/config-parse.ts [--runs=3]
 */
import { parseDocument } from "yaml";
import { parseConfigText } from "../../src/config/load.ts";
import { markdownTable, num } from "./stats.ts";

const runs = Number(process.argv.find((a) => a.startsWith("--runs="))?.slice(7) ?? 3);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
const time = (f: () => unknown): number => {
  const t = performance.now();
  f();
  return performance.now() - t;
};

const rows: string[][] = [];
for (const n of [10_000, 20_000, 40_000]) {
  const lines = ["sense-events: {}", "extra:"];
  for (let i = 0; i < n; i++) lines.push(`  key${i}: value${i}`);
  const text = `${lines.join("\n")}\n`;
  const before: number[] = [];
  const after: number[] = [];
  for (let r = 0; r < runs; r++) {
    before.push(time(() => parseDocument(text, { merge: true }).toJS()));
    after.push(time(() => parseConfigText(text, { file: "bench.yaml" })));
  }
  const b = median(before);
  const a = median(after);
  rows.push([num(n), num(text.length / 1024, 0), num(b), num(a), `${num(b / a, 1)}×`]);
}
console.log(markdownTable(["keys", "KiB", "yaml uniqueKeys (ms)", "parseConfigText (ms)", "ratio"], rows));
