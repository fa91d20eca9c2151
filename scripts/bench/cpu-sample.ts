/**
 * Per-process and per-thread CPU sampling from /proc for the end-to-end benchmarks: which of sense-events'
 * threads, mosquitto, influxd, the MQTT counter or the sender uses how much of a core during a step.
 */
import { readdirSync, readFileSync } from "node:fs";

/** Clock ticks per second of /proc/<pid>/stat (USER_HZ, 100 on Linux). */
const HZ = 100;

/** CPU ticks (user + system) per thread, keyed `pid/tid`, with the process and thread names. */
export type CpuTicks = Map<
  string,
  { pid: number; tid: number; process: string; thread: string; ticks: number }
>;

function read(path: string): string | null {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return null;
  }
}

/** utime + stime of one /proc stat line (fields 14 and 15, counted after the `(comm)` field). */
function statTicks(stat: string): { ppid: number; ticks: number } {
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return { ppid: Number(fields[1]), ticks: Number(fields[11]) + Number(fields[12]) };
}

/** Every process descending from `root` (itself excluded). */
export function descendants(root: number): number[] {
  const parent = new Map<number, number>();
  for (const name of readdirSync("/proc")) {
    const pid = Number(name);
    if (!Number.isInteger(pid)) continue;
    const stat = read(`/proc/${pid}/stat`);
    if (stat) parent.set(pid, statTicks(stat).ppid);
  }
  const out: number[] = [];
  const wanted = new Set([root]);
  let grew = true;
  while (grew) {
    grew = false;
    for (const [pid, ppid] of parent) {
      if (wanted.has(ppid) && !wanted.has(pid)) {
        wanted.add(pid);
        out.push(pid);
        grew = true;
      }
    }
  }
  return out;
}

/** Reads the CPU ticks of every thread of `pids`. */
export function sampleCpu(pids: number[], names: Map<number, string> = new Map()): CpuTicks {
  const out: CpuTicks = new Map();
  for (const pid of pids) {
    const process = names.get(pid) ?? (read(`/proc/${pid}/comm`) ?? "?").trim();
    let tids: string[] = [];
    try {
      tids = readdirSync(`/proc/${pid}/task`);
    } catch {
      continue;
    }
    for (const tid of tids) {
      const stat = read(`/proc/${pid}/task/${tid}/stat`);
      if (!stat) continue;
      const thread = stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")"));
      out.set(`${pid}/${tid}`, { pid, tid: Number(tid), process, thread, ticks: statTicks(stat).ticks });
    }
  }
  return out;
}

/** One thread's share of a core between two samples, in %. */
export interface ThreadCpu {
  process: string;
  thread: string;
  pct: number;
}

/** CPU % per thread between `before` and `after` taken `seconds` apart, highest first, idle threads left out. */
export function cpuBetween(before: CpuTicks, after: CpuTicks, seconds: number): ThreadCpu[] {
  const rows: ThreadCpu[] = [];
  for (const [key, a] of after) {
    const b = before.get(key)?.ticks ?? 0;
    const pct = (100 * (a.ticks - b)) / HZ / seconds;
    if (pct >= 1) rows.push({ process: a.process, thread: a.thread, pct: Math.round(pct) });
  }
  return rows.sort((x, y) => y.pct - x.pct);
}

/** CPU % per process (all its threads summed). */
export function perProcess(rows: ThreadCpu[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const r of rows) out[r.process] = (out[r.process] ?? 0) + r.pct;
  return out;
}

/** Busy and total CPU ticks of the whole machine (all cores, from /proc/stat). */
export function machineTicks(): { busy: number; total: number } {
  const line = (read("/proc/stat") ?? "").split("\n")[0] ?? "";
  const v = line.trim().split(/\s+/).slice(1).map(Number);
  const total = v.reduce((a, b) => a + b, 0);
  // idle and iowait are not busy.
  return { busy: total - (v[3] ?? 0) - (v[4] ?? 0), total };
}

/** Whole-machine busy CPU between two samples, in % of one core (200 = both cores of a 2-core machine). */
export function machineBusyPct(
  before: { busy: number; total: number },
  after: { busy: number; total: number },
  seconds: number,
): number {
  return Math.round((100 * (after.busy - before.busy)) / HZ / seconds);
}
