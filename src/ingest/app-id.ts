import { detach } from "./parse.ts";

const PREFIX = "/app/";
const GUID_LENGTH = 36;

// App ids repeat across events: a small table, indexed by a few GUID characters and compared in place, lets
// events share one lower-cased string per app without slicing and lower-casing each time.
const SLOTS = 64;
const seen: string[] = new Array(SLOTS).fill("");

/** True for an ASCII hex digit in either case. */
function isHex(c: number): boolean {
  return (c >= 48 && c <= 57) || (c >= 97 && c <= 102) || (c >= 65 && c <= 70);
}

/**
 * Extracts the lower-cased app GUID from a context such as `/app/<guid>?reloaduri=…` (reference §4.1):
 * the GUID must directly follow `/app/` and be followed by the end, `?`, `/` or `#`.
 */
export function extractAppId(context: string): string | null {
  if (!context.startsWith(PREFIX)) return null;
  const start = PREFIX.length;
  const end = start + GUID_LENGTH;
  if (context.length < end) return null;
  for (let i = 0; i < GUID_LENGTH; i++) {
    const c = context.charCodeAt(start + i);
    if (i === 8 || i === 13 || i === 18 || i === 23) {
      if (c !== 45) return null;
    } else if (!isHex(c)) {
      return null;
    }
  }
  if (context.length > end) {
    const next = context.charCodeAt(end);
    // ? / #
    if (next !== 63 && next !== 47 && next !== 35) return null;
  }
  const slot =
    (context.charCodeAt(start) * 31 + context.charCodeAt(start + 1) * 7 + context.charCodeAt(end - 1)) &
    (SLOTS - 1);
  const shared = seen[slot] as string;
  if (shared !== "" && context.startsWith(shared, start)) return shared;
  // A copy: a slice (and toLowerCase of an already lower-case slice) would keep the whole context alive
  // in every session that lists the app (see detach in parse.ts).
  const appId = detach(context.slice(start, end).toLowerCase());
  // Only an id already lower-case in the context can be found in place again.
  if (context.startsWith(appId, start)) seen[slot] = appId;
  return appId;
}
