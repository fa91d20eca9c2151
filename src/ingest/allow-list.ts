import { lookup } from "node:dns/promises";
import { isHost } from "../config/fields.ts";
import type { Logger } from "../log.ts";
import { errorCode } from "../net.ts";
import { LogWindow } from "../throttle.ts";
import { parseIPv4, parseIPv6 } from "./ip.ts";

/** A compiled source allow-list (reference §8.3); `allows()` runs once per datagram. */
export interface AllowList {
  /** True when `ip` (IPv4, IPv6 or `::ffff:a.b.c.d`) matches an entry; always false when failed closed. */
  allows(ip: string): boolean;
  /** True when no usable entry remained, so every datagram is dropped. */
  readonly failedClosed: boolean;
  /** One line describing what is allowed, for logs and `check-config`. */
  readonly summary: string;
  /** One line per unusable entry, starting with its YAML path (already logged when a logger was given). */
  readonly problems: readonly string[];
}

/** Resolves a hostname to its A and AAAA addresses; rejects when it cannot. */
export type ResolveHost = (hostname: string) => Promise<string[]>;

/** Options for {@link createAllowList}. */
export interface AllowListOptions {
  /** Resolves a hostname to its A and AAAA addresses. @default the system resolver (A and AAAA) */
  resolve?: ResolveHost;
  /** Where unusable entries and resolution failures are reported (at error). */
  log?: Logger;
}

/** The IPv4 value of an IPv4-mapped IPv6 address (`::ffff:a.b.c.d`), or -1. */
function mappedV4(w: Uint32Array): number {
  return w[0] === 0 && w[1] === 0 && w[2] === 0xffff ? (w[3] ?? 0) : -1;
}

/** A 32-bit network mask for `bits` leading ones, as an unsigned number. */
const mask32 = (bits: number): number =>
  bits <= 0 ? 0 : bits >= 32 ? 0xffffffff : (0xffffffff << (32 - bits)) >>> 0;

interface V6Range {
  net: Uint32Array;
  mask: Uint32Array;
}

/** Compiled entries: exact IPv4 addresses, IPv4 ranges and IPv6 ranges. */
class Compiled {
  readonly v4Exact = new Set<number>();
  readonly v4Ranges: { net: number; mask: number }[] = [];
  readonly v6Ranges: V6Range[] = [];
  readonly shown: string[] = [];

  get size(): number {
    return this.v4Exact.size + this.v4Ranges.length + this.v6Ranges.length;
  }

  /** Adds an address or CIDR text; returns false if it is neither. */
  add(text: string): boolean {
    const slash = text.indexOf("/");
    const addr = slash === -1 ? text : text.slice(0, slash);
    const bitsText = slash === -1 ? "" : text.slice(slash + 1);
    if (slash !== -1 && !/^\d{1,3}$/.test(bitsText)) return false;
    const v4 = parseIPv4(addr);
    if (v4 >= 0) return this.#addV4(v4, slash === -1 ? 32 : Number(bitsText));
    const v6 = parseIPv6(addr);
    if (v6 === null) return false;
    const bits = slash === -1 ? 128 : Number(bitsText);
    if (bits > 128) return false;
    // An IPv4-mapped entry is an IPv4 entry, since mapped senders are compared as IPv4.
    const mapped = mappedV4(v6);
    if (mapped >= 0 && bits >= 96) return this.#addV4(mapped, bits - 96);
    const mask = new Uint32Array(4);
    for (let i = 0; i < 4; i++) mask[i] = mask32(bits - 32 * i);
    const net = v6.map((w, i) => (w & (mask[i] ?? 0)) >>> 0);
    this.v6Ranges.push({ net, mask });
    return true;
  }

  #addV4(value: number, bits: number): boolean {
    if (bits > 32) return false;
    if (bits === 32) this.v4Exact.add(value);
    else this.v4Ranges.push({ net: (value & mask32(bits)) >>> 0, mask: mask32(bits) });
    return true;
  }

  allowsV4(v4: number): boolean {
    if (this.v4Exact.has(v4)) return true;
    for (const r of this.v4Ranges) if ((v4 & r.mask) >>> 0 === r.net) return true;
    return false;
  }

  allowsV6(w: Uint32Array): boolean {
    for (const r of this.v6Ranges) {
      let hit = true;
      for (let i = 0; i < 4 && hit; i++) hit = ((w[i] ?? 0) & (r.mask[i] ?? 0)) >>> 0 === r.net[i];
      if (hit) return true;
    }
    return false;
  }
}

/** Resolves A and AAAA records through the system resolver (also reads /etc/hosts). */
async function systemResolve(host: string): Promise<string[]> {
  const records = await lookup(host, { all: true, verbatim: true });
  return records.map((r) => r.address);
}

/** The YAML path of the allow-list, which every problem line starts with. */
const PATH = "Butler-SOS.userEvents.udpServerConfig.allowedSources";

/** The line for an allow-list without a usable entry (logged at startup, warned by `check-config`). */
export const FAILED_CLOSED = `${PATH}: no usable entry, so the allow-list fails closed and every datagram will be dropped`;

/**
 * Compiles `allowedSources` entries (IP literals, CIDR ranges, hostnames resolved now) into an
 * {@link AllowList}. Each unusable entry is one problem line naming its YAML path, logged at error
 * (and printed by `check-config`); with no usable entry the list fails closed (reference §8.3).
 */
export async function createAllowList(entries: string[], options: AllowListOptions = {}): Promise<AllowList> {
  const resolve = options.resolve ?? systemResolve;
  const log = options.log;
  const compiled = new Compiled();
  const problems: string[] = [];
  const problem = (line: string) => {
    problems.push(line);
    log?.error(`[udp] ${line}`);
  };
  for (const [i, raw] of entries.entries()) {
    const entry = raw.trim();
    // An empty entry (e.g. a list left with a blank item) is skipped, not reported.
    if (entry === "") continue;
    if (compiled.add(entry)) {
      compiled.shown.push(entry);
      continue;
    }
    // Digits and dots only is a malformed IPv4 literal (e.g. zero-padded), never a hostname: the system
    // resolver would read "010.1.1.1" as octal and admit 8.1.1.1.
    if (/^[\d.]+$/.test(entry) || !isHost(entry)) {
      problem(`${PATH}[${i}]: "${raw}" is not an IP address, CIDR range or hostname; ignored`);
      continue;
    }
    let addresses: string[];
    try {
      addresses = await resolve(entry);
    } catch (err) {
      problem(`${PATH}[${i}]: cannot resolve "${raw}" (${errorCode(err)}); ignored`);
      continue;
    }
    const added = addresses.filter((a) => compiled.add(a));
    if (added.length === 0) {
      problem(`${PATH}[${i}]: "${raw}" resolves to no usable address; ignored`);
      continue;
    }
    compiled.shown.push(`${entry} (${added.join(", ")})`);
  }
  const failedClosed = compiled.size === 0;
  if (failedClosed) log?.error(`[udp] ${FAILED_CLOSED}`);
  return {
    failedClosed,
    problems,
    summary: failedClosed
      ? "no usable entry (fails closed: every datagram is dropped)"
      : compiled.shown.join(", "),
    allows(ip: string): boolean {
      if (failedClosed) return false;
      const v4 = parseIPv4(ip);
      if (v4 >= 0) return compiled.allowsV4(v4);
      // Fast path for the form dual-stack sockets report IPv4 senders in.
      if (ip.length > 7 && ip.charCodeAt(6) === 58 && ip.slice(0, 7).toLowerCase() === "::ffff:") {
        const tail = parseIPv4(ip, 7);
        if (tail >= 0) return compiled.allowsV4(tail);
      }
      const v6 = parseIPv6(ip);
      if (v6 === null) return false;
      const mapped = mappedV4(v6);
      return mapped >= 0 ? compiled.allowsV4(mapped) : compiled.allowsV6(v6);
    },
  };
}

/** Admits or rejects datagram sources and throttles the rejection log per IP (reference §8.3). */
export interface SourceGate {
  /** True when `ip` may send; a rejection is counted and logged (first per IP per 60 s at warn). */
  admit(ip: string): boolean;
  /** Datagrams rejected so far. */
  readonly rejected: number;
}

/** Most sender IPs whose log window is remembered; the oldest is forgotten beyond this. */
const MAX_TRACKED_IPS = 1024;

/** Wraps an allow-list with counting and per-IP log throttling (warn once per 60 s, then debug). */
export function createSourceGate(
  allowList: AllowList,
  log: Logger,
  now: () => number = Date.now,
): SourceGate {
  const windows = new Map<string, LogWindow>();
  let rejected = 0;
  return {
    get rejected() {
      return rejected;
    },
    admit(ip: string): boolean {
      if (allowList.allows(ip)) return true;
      rejected++;
      const shown = ip.startsWith("::ffff:") && ip.indexOf(".") !== -1 ? ip.slice(7) : ip;
      let window = windows.get(shown);
      if (window === undefined) {
        if (windows.size >= MAX_TRACKED_IPS) {
          const oldest = windows.keys().next().value;
          if (oldest !== undefined) windows.delete(oldest);
        }
        window = new LogWindow(60_000, now);
        windows.set(shown, window);
      }
      const hit = window.hit();
      if (hit.log) {
        const more =
          hit.suppressedBefore > 0 ? ` (${hit.suppressedBefore} more from it in the previous window)` : "";
        log.warn(`[udp] datagram from ${shown} dropped: source not in allowedSources${more}`);
      } else if (log.enabled("debug")) {
        log.debug(`[udp] datagram from ${shown} dropped: source not in allowedSources`);
      }
      return false;
    },
  };
}
