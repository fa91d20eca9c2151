// Allocation-light IP address parsing for the allow-list, which runs once per datagram.

/** Parses dotted-quad IPv4 from `s` at `start` to an unsigned 32-bit number, or -1. */
export function parseIPv4(s: string, start = 0): number {
  let value = 0;
  let part = 0;
  let digits = 0;
  let dots = 0;
  for (let i = start; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 48 && c <= 57) {
      // No leading zeros: "010" is octal in some parsers, so refuse it rather than guess.
      if (digits === 1 && part === 0) return -1;
      part = part * 10 + (c - 48);
      if (part > 255 || ++digits > 3) return -1;
    } else if (c === 46) {
      if (digits === 0 || ++dots > 3) return -1;
      value = value * 256 + part;
      part = 0;
      digits = 0;
    } else {
      return -1;
    }
  }
  if (dots !== 3 || digits === 0) return -1;
  return value * 256 + part;
}

/** Parses an IPv6 address (with optional embedded IPv4 tail and `%zone`) to four 32-bit words, or null. */
export function parseIPv6(input: string): Uint32Array | null {
  const zone = input.indexOf("%");
  const s = zone === -1 ? input : input.slice(0, zone);
  if (s.indexOf(":") === -1) return null;
  const gap = s.indexOf("::");
  if (gap !== -1 && s.indexOf("::", gap + 1) !== -1) return null;
  const head = gap === -1 ? s : s.slice(0, gap);
  const tail = gap === -1 ? "" : s.slice(gap + 2);
  const left = parseGroups(head, gap === -1);
  const right = parseGroups(tail, true);
  if (left === null || right === null) return null;
  const total = left.length + right.length;
  if (gap === -1 ? total !== 8 : total > 7) return null;
  const groups = [...left, ...new Array<number>(8 - total).fill(0), ...right];
  const words = new Uint32Array(4);
  for (let i = 0; i < 4; i++) words[i] = (groups[2 * i] ?? 0) * 0x10000 + (groups[2 * i + 1] ?? 0);
  return words;
}

/** Parses colon-separated hex groups; the last may be an IPv4 tail when `allowV4Tail`. */
function parseGroups(s: string, allowV4Tail: boolean): number[] | null {
  if (s === "") return [];
  const parts = s.split(":");
  const groups: number[] = [];
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i] ?? "";
    if (allowV4Tail && i === parts.length - 1 && part.indexOf(".") !== -1) {
      const v4 = parseIPv4(part);
      if (v4 < 0) return null;
      groups.push(Math.floor(v4 / 0x10000), v4 % 0x10000);
    } else {
      if (part.length < 1 || part.length > 4) return null;
      let n = 0;
      for (let j = 0; j < part.length; j++) {
        const d = hexDigit(part.charCodeAt(j));
        if (d < 0) return null;
        n = n * 16 + d;
      }
      groups.push(n);
    }
  }
  return groups;
}

/** The value of one hex digit character code, or -1. */
function hexDigit(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  const lower = c | 0x20;
  return lower >= 97 && lower <= 102 ? lower - 87 : -1;
}
