/** An unref'd interval, so background work never keeps the process alive. */
export function every(ms: number, fn: () => void): ReturnType<typeof setInterval> {
  const timer = setInterval(fn, ms);
  timer.unref();
  return timer;
}
