import { isMapping } from "./raw.ts";

/**
 * Changes that only take effect after a restart (reference §14.4): the API's enable and address, the
 * outbox path and bounds, the history file, and the logger, all created once at start.
 */
export const RESTART_PATHS = [
  "sense-events.api.enable",
  "sense-events.api.host",
  "sense-events.api.port",
  "sense-events.outbox.path",
  "sense-events.history.enable",
  "sense-events.history.path",
  "sense-events.outbox.memoryItems",
  "sense-events.outbox.maxBytes",
  "sense-events.log.level",
  "sense-events.log.format",
];

/** Structural equality of two config values. */
function same(a: unknown, b: unknown): boolean {
  if (Object.is(a, b)) return true;
  if (Array.isArray(a) && Array.isArray(b))
    return a.length === b.length && a.every((item, i) => same(item, b[i]));
  if (isMapping(a) && isMapping(b)) {
    const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
    return [...keys].every((key) => same(a[key], b[key]));
  }
  return false;
}

function collect(a: unknown, b: unknown, path: string, out: string[]): void {
  if (isMapping(a) && isMapping(b)) {
    for (const key of new Set([...Object.keys(a), ...Object.keys(b)]))
      collect(a[key], b[key], path === "" ? key : `${path}.${key}`, out);
  } else if (!same(a, b)) {
    out.push(path);
  }
}

/** The shortest YAML paths whose values differ between two configs; a list counts as one value (reference §14.4). */
export function diffConfig(a: unknown, b: unknown): string[] {
  const out: string[] = [];
  collect(a, b, "", out);
  return out;
}

/** The changed paths that need a restart (those under {@link RESTART_PATHS}), for `restartRequired`. */
export function restartRequiredPaths(changed: readonly string[]): string[] {
  return RESTART_PATHS.filter((restart) =>
    changed.some(
      (path) => path === restart || restart.startsWith(`${path}.`) || path.startsWith(`${restart}.`),
    ),
  );
}
