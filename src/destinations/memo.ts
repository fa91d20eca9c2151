/**
 * A bounded memo for strings derived from values that repeat (a tag value's escaped `,key=value` segment):
 * at most `size` entries, values longer than `maxChars` not kept, and the whole memo starts again when full.
 */
export function createMemo(
  make: (raw: string) => string,
  size = 256,
  maxChars = 256,
): (raw: string) => string {
  const cache = new Map<string, string>();
  return (raw) => {
    let out = cache.get(raw);
    if (out === undefined) {
      out = make(raw);
      if (raw.length <= maxChars) {
        if (cache.size >= size) cache.clear();
        cache.set(raw, out);
      }
    }
    return out;
  };
}
