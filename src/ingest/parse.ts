import { ACTIONS, type EventSource, type UserEvent } from "../events/event.ts";
import { parseFormatB } from "./format-b.ts";

/** Why a datagram was rejected (reference §3.6). */
export type RejectReason = "unknown_type" | "malformed";

/** The fields of an accepted datagram, cleaned and capped (reference §3); `action` is canonical when known. */
export type Datagram = Pick<
  UserEvent,
  "source" | "host" | "action" | "userDirectory" | "userId" | "origin" | "context" | "message"
>;

/** The result of {@link parseDatagram}; `text` is the decoded, uncleaned datagram (for the rejected preview). */
export type ParseResult =
  | { ok: true; datagram: Datagram }
  | { ok: false; reason: RejectReason; detail: string; text: string };

const SHORT_CAP = 100;
const ORIGIN_CAP = 200;
const CONTEXT_CAP = 500;
const MESSAGE_CAP = 1000;

// Non-fatal: invalid bytes become U+FFFD; ignoreBOM false drops a leading U+FEFF.
const decoder = new TextDecoder();

const CANONICAL = new Map<string, string>(ACTIONS.map((a) => [a.toLowerCase(), a]));
const EXACT = new Set<string>(ACTIONS);
// The four canonical actions have four different lengths.
const ACTION_BY_LENGTH: (string | undefined)[] = [];
for (const a of ACTIONS) ACTION_BY_LENGTH[a.length] = a;
// Field 0 as Qlik's appenders write it, for a lookup before the general match.
const USUAL_TYPES = new Map<string, EventSource>([
  ["/qseow-proxy-session/", "qseow-proxy-session"],
  ["/qseow-proxy-connection/", "qseow-proxy-connection"],
  ["/proxy-user-event/", "proxy-user-event"],
]);

// The usual field 0 spellings have three different lengths.
const USUAL_BY_LENGTH: ([string, EventSource] | undefined)[] = [];
for (const entry of USUAL_TYPES) USUAL_BY_LENGTH[entry[0].length] = entry;

/** The source when `text[0, end)` is exactly a usual field 0, compared in place; else null. */
function usualType(text: string, end: number): EventSource | null {
  const entry = USUAL_BY_LENGTH[end];
  return entry !== undefined && text.startsWith(entry[0]) ? entry[1] : null;
}

/** Trims a command and returns its canonical spelling if it is a known action (reference §3.5), else the trimmed command. */
export function canonicalAction(command: string): string {
  // Fast path: senders almost always use the canonical spelling.
  if (EXACT.has(command)) return command;
  const trimmed = command.trim();
  return CANONICAL.get(trimmed.toLowerCase()) ?? trimmed;
}

/**
 * A copy of `s` that does not share the buffer of the string it was sliced from. In JSC a slice keeps
 * its whole parent alive (a 40-character host held a 64 KB datagram), and concatenation or flattening
 * a rope does not help; padStart builds a new string (measured in docs/benchmarks.md, "RSS after a flood").
 */
export function detach(s: string): string {
  return s.length < 2 ? s : s.padStart(s.length + 1, " ").slice(1);
}

/**
 * Datagrams longer than this have their fields copied out ({@link detach}); a shorter one is mostly its
 * fields anyway, so sharing costs at most this many units per stored event and saves the copies.
 */
export const DETACH_ABOVE = 1024;

/** Cuts `s` to at most `cap` UTF-16 units without splitting a surrogate pair. */
export function capUtf16(s: string, cap: number): string {
  if (s.length <= cap) return s;
  const last = s.charCodeAt(cap - 1);
  return s.slice(0, last >= 0xd800 && last <= 0xdbff ? cap - 1 : cap);
}

/** True for U+0000–U+001F and U+007F. */
function isControl(c: number): boolean {
  return c < 0x20 || c === 0x7f;
}

// A regex class scan is several times faster than a charCodeAt loop here (measured), and most datagrams have
// no control character at all: then fields need no scan of their own.
// biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is the point.
const CONTROL = /[\u0000-\u001f\u007f]/;
/** Whether the datagram being parsed has no control character (parsing is synchronous and never nested). */
let noControls = false;

/** Cleans `text[start, end)` as one field (reference §3.1): drop control characters, `(null)` → "", cap. */
function cleanField(text: string, start: number, end: number, cap: number): string {
  if (noControls) {
    if (end - start > cap) return capUtf16(text.slice(start, end), cap);
    const s = text.slice(start, end);
    return s === "(null)" ? "" : s;
  }
  // Fast path: no control character among the units that can survive the cap.
  const scanEnd = Math.min(end, start + cap + 1);
  let i = start;
  while (i < scanEnd && !isControl(text.charCodeAt(i))) i++;
  if (i === scanEnd) {
    // A field of exactly cap + 1 units ends at scanEnd too: it still needs the cap (found by fuzzing).
    if (scanEnd === end && end - start <= cap) {
      const s = text.slice(start, end);
      return s === "(null)" ? "" : s;
    }
    return capUtf16(text.slice(start, scanEnd), cap);
  }
  let out = text.slice(start, i);
  let run = i + 1;
  for (let j = run; j < end && out.length <= cap; j++) {
    if (isControl(text.charCodeAt(j))) {
      out += text.slice(run, j);
      run = j + 1;
    }
  }
  if (out.length <= cap && run < end) out += text.slice(run, end);
  return out === "(null)" ? "" : capUtf16(out, cap);
}

/** True when the text is empty after removing control characters and trimming whitespace. */
function isBlank(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c <= 0x20 || c === 0x7f) continue;
    if (c < 0x80 || text[i]?.trim() !== "") return false;
  }
  return true;
}

/** Matches field 0 against `^/?(qseow-proxy-session|qseow-proxy-connection|proxy-user-event)/?$`/i. */
function matchType(type: string): EventSource | null {
  const usual = USUAL_TYPES.get(type);
  if (usual !== undefined) return usual;
  const start = type.startsWith("/") ? 1 : 0;
  const end = type.length > start && type.endsWith("/") ? type.length - 1 : type.length;
  const len = end - start;
  if (len !== 19 && len !== 22 && len !== 16) return null;
  const name = type.slice(start, end).toLowerCase();
  if (name === "qseow-proxy-session" || name === "qseow-proxy-connection" || name === "proxy-user-event") {
    return name;
  }
  return null;
}

// Separator positions of the datagram being parsed: reused, since parsing is synchronous and never nested.
const seps = new Int32Array(8);

/** Finds up to `count` separators, starting with the first `;` at `from`, into `seps`; returns how many. */
function separators(text: string, from: number, count: number): number {
  seps[0] = from;
  let found = 1;
  let at = from;
  while (found < count) {
    at = text.indexOf(";", at + 1);
    if (at === -1) break;
    seps[found++] = at;
  }
  return found;
}

// Host, user and origin values repeat across events: a small table per field, indexed by a cheap hash of the
// raw text and compared in place, lets stored events share one string per value without slicing a new one.
const SLOTS = 256;
const hostTable: string[] = new Array(SLOTS).fill("");
const dirTable: string[] = new Array(SLOTS).fill("");
const uidTable: string[] = new Array(SLOTS).fill("");
const originTable: string[] = new Array(SLOTS).fill("");

/** Field n ≥ 1 like {@link field}, shared through `table` when it needs no cleaning. */
function sharedField(text: string, count: number, n: number, cap: number, table: string[]): string {
  const start = (seps[n - 1] as number) + 1;
  const end = n < count ? (seps[n] as number) : text.length;
  const length = end - start;
  if (length === 0) return "";
  const slot =
    (length * 31 +
      text.charCodeAt(start) * 7 +
      text.charCodeAt(end - 1) * 3 +
      text.charCodeAt(start + (length >> 1))) &
    (SLOTS - 1);
  const seen = table[slot] as string;
  if (seen.length === length && text.startsWith(seen, start)) return seen;
  const value = cleanField(text, start, end, cap);
  // Only a value equal to its raw text can be found in place again.
  if (value.length === length) table[slot] = value;
  return value;
}

/** Cleans field n ≥ 1, which spans seps[n-1]+1 .. seps[n]; the last field (n = `count`) runs to the end of the text. */
function field(text: string, count: number, n: number, cap: number): string {
  const end = n < count ? (seps[n] as number) : text.length;
  return cleanField(text, (seps[n - 1] as number) + 1, end, cap);
}

/** The canonical action when field n is exactly one (no slice, and a shared string), else null. */
function exactAction(text: string, count: number, n: number): string | null {
  const start = (seps[n - 1] as number) + 1;
  const end = n < count ? (seps[n] as number) : text.length;
  const action = ACTION_BY_LENGTH[end - start];
  return action !== undefined && text.startsWith(action, start) ? action : null;
}

/** Decodes, cleans, types and splits one datagram (reference §3); never throws. */
export function parseDatagram(bytes: Uint8Array): ParseResult {
  const text = decoder.decode(bytes);
  if (isBlank(text)) return { ok: false, reason: "malformed", detail: "empty datagram", text };
  noControls = !CONTROL.test(text);
  const first = text.indexOf(";");
  const typeEnd = first === -1 ? text.length : first;
  let source = usualType(text, typeEnd);
  if (source === null) {
    const type = cleanField(text, 0, typeEnd, SHORT_CAP);
    source = matchType(type);
    if (source === null) return { ok: false, reason: "unknown_type", detail: `unknown type "${type}"`, text };
  }
  const needed = source === "proxy-user-event" ? 5 : 8;
  const count = first === -1 ? 0 : separators(text, first, needed - 1);
  if (count < needed - 1) {
    const detail = `${source} needs ${needed} fields, got ${count + 1}`;
    return { ok: false, reason: "malformed", detail, text };
  }
  const host = sharedField(text, count, 1, SHORT_CAP, hostTable);
  if (source === "proxy-user-event") {
    const origin = sharedField(text, count, 2, ORIGIN_CAP, originTable);
    const context = field(text, count, 3, CONTEXT_CAP);
    const message = field(text, count, 4, MESSAGE_CAP);
    const b = parseFormatB(message);
    if (b === null) return { ok: false, reason: "malformed", detail: "no action in message", text };
    const userDirectory = capUtf16(b.userDirectory, SHORT_CAP);
    const userId = capUtf16(b.userId, SHORT_CAP);
    const datagram = { source, host, action: b.action, userDirectory, userId, origin, context, message };
    return { ok: true, datagram: text.length > DETACH_ABOVE ? detachFields(datagram) : datagram };
  }
  const action = exactAction(text, count, 2) ?? canonicalAction(field(text, count, 2, SHORT_CAP));
  const userDirectory = sharedField(text, count, 3, SHORT_CAP, dirTable);
  const userId = sharedField(text, count, 4, SHORT_CAP, uidTable);
  const origin = sharedField(text, count, 5, ORIGIN_CAP, originTable);
  const context = field(text, count, 6, CONTEXT_CAP);
  const message = field(text, count, 7, MESSAGE_CAP);
  const datagram = { source, host, action, userDirectory, userId, origin, context, message };
  return { ok: true, datagram: text.length > DETACH_ABOVE ? detachFields(datagram) : datagram };
}

/** Copies every field out of a long datagram, so stored events keep only what they show. */
function detachFields(d: Datagram): Datagram {
  const host = detach(d.host);
  const userDirectory = detach(d.userDirectory);
  const userId = detach(d.userId);
  const origin = detach(d.origin);
  // The shared-value tables must hold the copies too, or they would keep the datagram alive.
  remember(hostTable, d.host, host);
  remember(dirTable, d.userDirectory, userDirectory);
  remember(uidTable, d.userId, userId);
  remember(originTable, d.origin, origin);
  return {
    source: d.source,
    host,
    action: detach(d.action),
    userDirectory,
    userId,
    origin,
    context: detach(d.context),
    message: detach(d.message),
  };
}

/** Replaces `slice` in a shared-value table by its copy. */
function remember(table: string[], slice: string, copy: string): void {
  const i = table.indexOf(slice);
  if (i !== -1 && table[i] === slice) table[i] = copy;
}
