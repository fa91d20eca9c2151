/**
 * Which copy of a string field stops it from keeping its datagram alive (issue 9): keeps a
 * 40-character field of each of 5,000 decoded 65 KB datagrams, copied with `<method>`, then prints
 * RSS and JSC's string memory after a full collection.
 *
 *   for m in slice concatSlice flatten bufferRoundTrip jsonRoundTrip padStart; do bun scripts/bench/string-detach.ts $m; done
 */
import { heapStats } from "bun:jsc";

const copies: Record<string, (s: string) => string> = {
  slice: (s) => s,
  concatSlice: (s) => ` ${s}`.slice(1),
  flatten: (s) => {
    const t = ` ${s}`;
    t.charCodeAt(0);
    return t.slice(1);
  },
  bufferRoundTrip: (s) => Buffer.from(s, "utf8").toString("utf8"),
  jsonRoundTrip: (s) => JSON.parse(JSON.stringify(s)),
  padStart: (s) => s.padStart(s.length + 1, " ").slice(1),
};
const method = process.argv[2] ?? "padStart";
const copy = copies[method];
if (copy === undefined) throw new Error(`[bench] methods: ${Object.keys(copies).join(", ")}`);
const encoder = new TextEncoder();
const decoder = new TextDecoder();
const keep: string[] = [];
for (let i = 0; i < 5000; i++) {
  const text = decoder.decode(
    encoder.encode(`${i};${"x".repeat(65000)};host${i}-abcdefghijklmnopqrstuvwxyz0123456789`),
  );
  const start = text.lastIndexOf(";") + 1;
  keep.push(copy(text.slice(start, start + 40)));
}
Bun.gc(true);
Bun.gc(true);
const MB = 1e6;
console.log(
  `${method.padEnd(16)} RSS ${(process.memoryUsage.rss() / MB).toFixed(0)} MB, strings ${(heapStats().extraMemorySize / MB).toFixed(1)} MB, kept ${keep.length}`,
);
