/** Per-event processing times of the current metrics interval: the last 1000 samples (reference §10.6). */
export class ProcessingTimes {
  #samples: Float64Array;
  #count = 0;
  #next = 0;

  constructor(capacity = 1000) {
    this.#samples = new Float64Array(capacity);
  }

  /** Records one processing time in milliseconds, overwriting the oldest sample when full. */
  record(ms: number): void {
    this.#samples[this.#next] = ms;
    this.#next = (this.#next + 1) % this.#samples.length;
    if (this.#count < this.#samples.length) this.#count++;
  }

  /** Average, p95 (sorted[⌈0.95n⌉−1]) and maximum of the kept samples; all 0 when there are none. */
  summary(): { avg: number; p95: number; max: number } {
    const n = this.#count;
    if (n === 0) return { avg: 0, p95: 0, max: 0 };
    const sorted = this.#samples.slice(0, n).sort();
    let sum = 0;
    for (const v of sorted) sum += v;
    return { avg: sum / n, p95: sorted[Math.ceil(0.95 * n) - 1] ?? 0, max: sorted[n - 1] ?? 0 };
  }

  /** Forgets every sample (start of a new interval). */
  reset(): void {
    this.#count = 0;
    this.#next = 0;
  }
}
