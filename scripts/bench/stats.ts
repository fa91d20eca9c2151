/** Median, min and max of repeated runs, and their Markdown formatting. */

/** One figure over several runs. */
export interface Summary {
  median: number;
  min: number;
  max: number;
  runs: number[];
}

/** Summarises repeated measurements (NaN values are ignored; an empty list gives NaN). */
export function summarize(values: number[]): Summary {
  const runs = values.filter((v) => !Number.isNaN(v));
  const sorted = [...runs].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  const median =
    sorted.length === 0
      ? Number.NaN
      : sorted.length % 2 === 1
        ? (sorted[mid] as number)
        : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
  return { median, min: sorted[0] ?? Number.NaN, max: sorted[sorted.length - 1] ?? Number.NaN, runs };
}

/** Formats a number with a fixed number of digits and thousands separators. */
export function num(value: number, digits = 0): string {
  if (!Number.isFinite(value)) return "n/a";
  return value.toLocaleString("en-US", { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

/** `median (min–max)`, or just the value when all runs agree. */
export function range(s: Summary, digits = 0): string {
  if (s.runs.length === 0) return "n/a";
  if (s.min === s.max) return num(s.median, digits);
  return `${num(s.median, digits)} (${num(s.min, digits)}–${num(s.max, digits)})`;
}

/** Percentile by nearest rank (p in 0–100) of unsorted samples. */
export function percentile(samples: number[], p: number): number {
  if (samples.length === 0) return Number.NaN;
  const sorted = [...samples].sort((a, b) => a - b);
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[rank - 1] as number;
}

/** Renders a Markdown table. */
export function markdownTable(header: string[], rows: string[][]): string {
  const line = (cells: string[]) => `| ${cells.join(" | ")} |`;
  return [line(header), line(header.map(() => "---")), ...rows.map(line)].join("\n");
}
