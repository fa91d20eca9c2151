/**
 * A fixed log-throttling window (reference §3.6, §8.3, §8.4): the first hit in a window is reported,
 * the rest are counted. A new window starts at the first hit after the previous one expired,
 * as Butler SOS 15 does.
 */
export class LogWindow {
  readonly #windowMs: number;
  readonly #now: () => number;
  #startedAt = Number.NEGATIVE_INFINITY;
  #suppressed = 0;

  /** Creates a window of `windowMs` (default 60 s) on the injectable clock `now`. */
  constructor(windowMs = 60_000, now: () => number = Date.now) {
    this.#windowMs = windowMs;
    this.#now = now;
  }

  /**
   * Records one hit. Returns `{ log: true, suppressedBefore }` for the first hit of a new window
   * (`suppressedBefore` = hits suppressed in the window that just ended), else `{ log: false }`.
   */
  hit(): { log: true; suppressedBefore: number } | { log: false } {
    const now = this.#now();
    if (now - this.#startedAt < this.#windowMs) {
      this.#suppressed++;
      return { log: false };
    }
    const suppressedBefore = this.#suppressed;
    this.#startedAt = now;
    this.#suppressed = 0;
    return { log: true, suppressedBefore };
  }

  /** Returns and clears the suppressed count if the window has ended (for a periodic flush timer). */
  takeExpired(): number {
    if (this.#suppressed === 0 || this.#now() - this.#startedAt < this.#windowMs) return 0;
    const n = this.#suppressed;
    this.#suppressed = 0;
    return n;
  }
}
