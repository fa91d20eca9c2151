// Helpers for the untyped YAML value before validation.

/** A YAML path as keys and list indexes. */
export type RawPath = readonly (string | number)[];

/** True for a plain mapping (not a list, not null). */
export function isMapping(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Writes a path as in error messages: `Butler-SOS.userEvents.excludeUser[0].directory`. */
export function formatPath(path: RawPath): string {
  let out = "";
  for (const key of path) out += typeof key === "number" ? `[${key}]` : out === "" ? key : `.${key}`;
  return out;
}

/** The value at `path`, or `undefined`. */
export function getAt(value: unknown, path: RawPath): unknown {
  let node = value;
  for (const key of path) {
    if (typeof key === "number" ? !Array.isArray(node) : !isMapping(node)) return undefined;
    node = (node as Record<string | number, unknown>)[key];
  }
  return node;
}

/** Removes the value at `path`; returns false when there was nothing to remove. */
export function deleteAt(value: unknown, path: RawPath): boolean {
  const parent = getAt(value, path.slice(0, -1));
  const key = path.at(-1);
  if (!isMapping(parent) || typeof key !== "string" || !(key in parent)) return false;
  delete parent[key];
  return true;
}

/**
 * Deep copy without `null` mapping values, so an empty YAML key (`excludeUser:` with only comments
 * below it) gets its default, e.g. `[]` for a list (reference §14.1). `null` list items are kept.
 */
export function withoutNulls(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutNulls);
  if (!isMapping(value)) return value;
  const out: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value)) if (item !== null) out[key] = withoutNulls(item);
  return out;
}
