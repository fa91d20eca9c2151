import { readFileSync } from "node:fs";
import type { Logger } from "../log.ts";
import { LogWindow } from "../throttle.ts";

/** Kernel receive-buffer drop figures (reference §8.2); null where /proc is absent. */
export interface KernelDropSnapshot {
  /** Current `RcvbufErrors` (plus `Udp6RcvbufErrors` when bound to IPv6) for the network namespace. */
  raw: number | null;
  /** Increase since the monitor started. */
  sinceStart: number | null;
}

/** Polls the kernel's UDP receive-buffer error counters. */
export interface KernelDropMonitor {
  /** The figures from the latest poll. */
  snapshot(): KernelDropSnapshot;
  /** Reads the counters now (the timer calls this every interval). */
  poll(): void;
  /** Stops polling. */
  close(): void;
}

/** Options for {@link createKernelDropMonitor}. */
export interface KernelDropMonitorOptions {
  /** Also count `Udp6RcvbufErrors` from /proc/net/snmp6. */
  ipv6: boolean;
  log: Logger;
  /** Poll interval. @default 10000 */
  intervalMs?: number;
  /** Reads a file as text, or null when it cannot be read (injectable for tests). */
  readFile?: (path: string) => string | null;
  /** Clock in ms for the 60 s warning window. @default Date.now */
  now?: () => number;
}

/** Reads `RcvbufErrors` from the two `Udp:` rows (header, values) of /proc/net/snmp text. */
export function parseSnmpRcvbufErrors(text: string): number | null {
  let header: string[] | null = null;
  for (const line of text.split("\n")) {
    if (!line.startsWith("Udp:")) continue;
    const cols = line.trim().split(/\s+/);
    if (header === null) {
      header = cols;
      continue;
    }
    const value = Number(cols[header.indexOf("RcvbufErrors")]);
    return header.indexOf("RcvbufErrors") > 0 && Number.isFinite(value) ? value : null;
  }
  return null;
}

/** Reads `Udp6RcvbufErrors` from /proc/net/snmp6 text (one `name value` pair per line). */
export function parseSnmp6RcvbufErrors(text: string): number | null {
  for (const line of text.split("\n")) {
    const cols = line.trim().split(/\s+/);
    if (cols[0] === "Udp6RcvbufErrors") {
      const value = Number(cols[1]);
      return Number.isFinite(value) ? value : null;
    }
  }
  return null;
}

function readProc(path: string): string | null {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return null;
  }
}

/**
 * Starts polling `RcvbufErrors` every 10 s (unref'd timer) and warns about an increase at most
 * once per 60 s. The counter is per network namespace, not per socket.
 */
export function createKernelDropMonitor(options: KernelDropMonitorOptions): KernelDropMonitor {
  const { ipv6, log } = options;
  const readFile = options.readFile ?? readProc;
  const window = new LogWindow(60_000, options.now ?? Date.now);
  const read = (): number | null => {
    const snmp = readFile("/proc/net/snmp");
    const v4 = snmp === null ? null : parseSnmpRcvbufErrors(snmp);
    if (v4 === null || !ipv6) return v4;
    const snmp6 = readFile("/proc/net/snmp6");
    return v4 + ((snmp6 === null ? null : parseSnmp6RcvbufErrors(snmp6)) ?? 0);
  };
  const baseline = read();
  let raw = baseline;
  let pending = 0;
  const poll = (): void => {
    const next = read();
    if (next !== null && raw !== null && next > raw) {
      pending += next - raw;
      const hit = window.hit();
      if (hit.log) {
        log.warn(
          `[udp] the kernel dropped ${pending} UDP datagrams (RcvbufErrors) since the last warning: ` +
            "the receiver falls behind; raise sense-events.udp.receiveBufferBytes and net.core.rmem_max",
        );
        pending = 0;
      }
    }
    if (next !== null) raw = next;
  };
  const timer = setInterval(poll, options.intervalMs ?? 10_000);
  timer.unref();
  return {
    snapshot: () => ({ raw, sinceStart: raw === null || baseline === null ? null : raw - baseline }),
    poll,
    close: () => clearInterval(timer),
  };
}
