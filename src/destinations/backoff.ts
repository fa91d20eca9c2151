/** Longest exponential backoff between attempts (reference §9). */
export const MAX_BACKOFF_MS = 60_000;

/** Longest `Retry-After` honoured (reference §9). */
export const MAX_RETRY_AFTER_MS = 300_000;

/**
 * Delay before attempt `attempt + 1` after `attempt` consecutive failures (1-based):
 * `min(60 s, 1 s × 2^(attempt−1))` scaled by a random factor in [0.5, 1].
 */
export function backoffMs(attempt: number, random: () => number = Math.random): number {
  const base = Math.min(MAX_BACKOFF_MS, 1000 * 2 ** (Math.max(1, attempt) - 1));
  return Math.round(base * (0.5 + 0.5 * random()));
}

/**
 * Parses a `Retry-After` header (delay in seconds or an HTTP date) into ms, capped at 300 s;
 * undefined when absent or unparsable, 0 for a date in the past.
 */
export function retryAfterMs(
  header: string | null | undefined,
  now: number = Date.now(),
): number | undefined {
  const value = header?.trim();
  if (!value) return undefined;
  if (/^\d+$/.test(value)) return Math.min(MAX_RETRY_AFTER_MS, Number(value) * 1000);
  // An HTTP date always names a month; without this, Date.parse("-5") reads a year.
  const at = /[a-z]/i.test(value) ? Date.parse(value) : Number.NaN;
  if (Number.isNaN(at)) return undefined;
  return Math.min(MAX_RETRY_AFTER_MS, Math.max(0, at - now));
}
