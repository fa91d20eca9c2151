import type { Logger } from "../log.ts";
import { LogWindow } from "../throttle.ts";
import { capUtf16, detach, type RejectReason } from "./parse.ts";
import { displayAddress } from "./process.ts";

/** One rejected datagram as `/api/rejected` shows it (reference §3.6). */
export interface RejectedEntry {
  receivedAt: string;
  reason: RejectReason;
  detail: string;
  remoteAddress: string;
  remotePort: number;
  bytes: number;
  preview: string;
}

/** What the ingest pipeline knows about a rejection. */
export interface Rejection {
  /** Receive time, ISO-8601. */
  receivedAt: string;
  reason: RejectReason;
  detail: string;
  /** Decoded, uncleaned datagram text. */
  text: string;
  remoteAddress: string;
  remotePort: number;
  /** Datagram size in bytes. */
  bytes: number;
}

/** Options for {@link RejectedLog}. */
export interface RejectedLogOptions {
  /** Where warnings go; a capped log (src/log-cap.ts) also gets each rejection's source noted. */
  log: Logger & { note?(source?: string): void };
  /** Clock in epoch ms. @default Date.now */
  now?: () => number;
  /** Entries kept. @default 100 */
  capacity?: number;
  /** Log-throttling window. @default 60000 */
  windowMs?: number;
}

const PREVIEW_CAP = 512;

/** Keeps the last rejected datagrams, counts them by reason and throttles their log lines (reference §3.6). */
export class RejectedLog {
  /** Rejections per reason since start. */
  readonly counts: Record<RejectReason, number> = { unknown_type: 0, malformed: 0 };
  readonly #entries: (RejectedEntry | undefined)[];
  readonly #log: RejectedLogOptions["log"];
  readonly #windows: Record<RejectReason, LogWindow>;
  #next = 0;

  /** Creates an empty log. */
  constructor(options: RejectedLogOptions) {
    this.#log = options.log;
    const now = options.now ?? Date.now;
    this.#entries = new Array(options.capacity ?? 100);
    const windowMs = options.windowMs ?? 60_000;
    this.#windows = {
      unknown_type: new LogWindow(windowMs, now),
      malformed: new LogWindow(windowMs, now),
    };
  }

  /** Counts, stores and (throttled) logs one rejection; returns the stored entry. */
  add(rejection: Rejection): RejectedEntry {
    const { reason } = rejection;
    const entry: RejectedEntry = {
      receivedAt: rejection.receivedAt,
      reason,
      detail: detach(rejection.detail),
      remoteAddress: displayAddress(rejection.remoteAddress),
      remotePort: rejection.remotePort,
      bytes: rejection.bytes,
      preview: detach(capUtf16(rejection.text, PREVIEW_CAP)),
    };
    this.counts[reason]++;
    this.#entries[this.#next] = entry;
    this.#next = (this.#next + 1) % this.#entries.length;
    this.#log.note?.(entry.remoteAddress);
    const hit = this.#windows[reason].hit();
    if (hit.log) {
      this.#logSuppressed(reason, hit.suppressedBefore);
      this.#log.warn(
        `rejected ${reason} datagram from ${entry.remoteAddress}:${entry.remotePort}: ${entry.detail}`,
        { preview: entry.preview },
      );
    }
    return entry;
  }

  /** The stored entries, newest first. */
  list(): RejectedEntry[] {
    const out: RejectedEntry[] = [];
    const n = this.#entries.length;
    for (let i = 1; i <= n; i++) {
      const entry = this.#entries[(this.#next - i + n) % n];
      if (entry === undefined) break;
      out.push(entry);
    }
    return out;
  }

  /** Logs the suppressed-count line of every window that has ended; call it from a periodic timer. */
  flushExpired(): void {
    this.#logSuppressed("unknown_type", this.#windows.unknown_type.takeExpired());
    this.#logSuppressed("malformed", this.#windows.malformed.takeExpired());
  }

  #logSuppressed(reason: RejectReason, n: number): void {
    if (n > 0) this.#log.warn(`${n} more ${reason} datagrams rejected in the last 60 s`);
  }
}
