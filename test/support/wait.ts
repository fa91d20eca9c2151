/** What {@link waitFor} resolves with: the first result of `check` that is neither `undefined` nor `false`. */
export type Settled<T> = Exclude<Awaited<T>, undefined | false>;

/**
 * Polls `check` until it returns something other than `undefined` or `false`, and resolves with it;
 * throws naming `what` after `timeoutMs`. The one polling helper of the tests: wait for a condition
 * with a deadline, never sleep a fixed time.
 */
export async function waitFor<T>(
  what: string,
  check: () => T,
  timeoutMs = 30_000,
  everyMs = 20,
): Promise<Settled<T>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined && value !== false) return value as Settled<T>;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await Bun.sleep(everyMs);
  }
}
