/**
 * Returns memory to the system after a datagram burst (issue 9): JSC frees a flood's garbage lazily
 * and RSS stayed at 266–316 MB long after one. Once `burst` datagrams arrived since the last
 * collection and the rate has fallen below `quietPerSecond`, one full collection runs. A sustained
 * flood never triggers it, so it costs one short pause per burst.
 */
export function startGcAfterBurst(options: {
  /** Datagrams received so far (monotonic). */
  received: () => number;
  /** Datagrams since the last collection that make a burst. @default 50000 */
  burst?: number;
  /** Datagrams per second under which the burst is over. @default 1000 */
  quietPerSecond?: number;
  /** Full collection, injectable for tests. @default Bun.gc(true) */
  collect?: () => void;
  /** Check interval. @default 1000 */
  intervalMs?: number;
}): { check(): void; close(): void } {
  const burst = options.burst ?? 50_000;
  const intervalMs = options.intervalMs ?? 1000;
  const quiet = ((options.quietPerSecond ?? 1000) * intervalMs) / 1000;
  const collect = options.collect ?? (() => Bun.gc(true));
  let atCollection = options.received();
  let previous = atCollection;
  const check = (): void => {
    const now = options.received();
    if (now - atCollection >= burst && now - previous < quiet) {
      collect();
      atCollection = now;
    }
    previous = now;
  };
  const timer = setInterval(check, intervalMs);
  timer.unref();
  return { check, close: () => clearInterval(timer) };
}
