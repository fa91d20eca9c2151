import type { Logger } from "../log.ts";
import { LogWindow } from "../throttle.ts";

const WINDOW_MS = 60_000;

/** A fixed-window datagram rate limiter (reference §8.4). */
export interface RateLimiter {
  /** True when the datagram fits in the current window; false means `rate_limited`. */
  admit(): boolean;
  /** `round(admitted / elapsed_s × 60)` in the current window; 0 once it has expired (reference §10.6). */
  currentRate(): number;
}

/** Options for {@link createRateLimiter}. */
export interface RateLimiterOptions {
  /** Datagrams admitted per 60 s window. */
  maxPerMinute: number;
  /** Clock in ms, injectable for tests. @default Date.now */
  now?: () => number;
  /** When set, the first refusal of each window is warned about and the window's total is logged when it ends. */
  log?: Logger;
}

/**
 * Creates a limiter whose 60 s window starts at the first datagram after the previous window
 * expired (as in Butler SOS 15), admitting `maxPerMinute` datagrams per window.
 */
export function createRateLimiter(options: RateLimiterOptions): RateLimiter {
  const { maxPerMinute, log } = options;
  const now = options.now ?? Date.now;
  let startedAt = Number.NEGATIVE_INFINITY;
  let admitted = 0;
  let refused = 0;
  return {
    admit(): boolean {
      const t = now();
      if (t - startedAt >= WINDOW_MS) {
        if (refused > 0)
          log?.info(`[udp] ${refused} datagrams were dropped as rate_limited in the previous window`);
        startedAt = t;
        admitted = 0;
        refused = 0;
      }
      if (admitted < maxPerMinute) {
        admitted++;
        return true;
      }
      if (refused++ === 0) {
        log?.warn(
          `[udp] rate limit of ${maxPerMinute} datagrams per minute reached: dropping as rate_limited until the window ends`,
        );
      }
      return false;
    },
    currentRate(): number {
      const elapsed = now() - startedAt;
      if (elapsed >= WINDOW_MS) return 0;
      // At the very start of a window the elapsed time is ~0; count it as at least 1 s so the rate stays finite.
      return Math.round((admitted / Math.max(elapsed, 1000)) * WINDOW_MS);
    },
  };
}

/** Throttled reporting of datagrams over `maxMessageSize` (reference §8.4). */
export interface TooLargeWarner {
  /** Records one oversized datagram; warns for the first in each 60 s window, counts the rest. */
  record(bytes: number, address: string): void;
  /** Logs the count suppressed in a window that has ended (call from a periodic timer). */
  flush(): void;
}

/** Creates the `too_large` warner: at most one warning, with a count, per 60 s. */
export function createTooLargeWarner(options: {
  maxMessageSize: number;
  /** Where warnings go; a capped log (src/log-cap.ts) also gets each datagram's source noted. */
  log: Logger & { note?(source?: string): void };
  now?: () => number;
}): TooLargeWarner {
  const { maxMessageSize, log } = options;
  const window = new LogWindow(WINDOW_MS, options.now ?? Date.now);
  const more = (n: number) =>
    `${n} more datagram${n === 1 ? "" : "s"} over maxMessageSize dropped in the last 60 s`;
  return {
    record(bytes: number, address: string): void {
      log.note?.(address);
      const hit = window.hit();
      if (!hit.log) return;
      const before = hit.suppressedBefore > 0 ? `; ${more(hit.suppressedBefore)}` : "";
      log.warn(
        `[udp] datagram of ${bytes} bytes from ${address} dropped as too_large: over maxMessageSize ${maxMessageSize}${before}`,
      );
    },
    flush(): void {
      const n = window.takeExpired();
      if (n > 0) log.warn(`[udp] ${more(n)}`);
    },
  };
}
