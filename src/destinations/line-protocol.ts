import { type DeliverableEvent, destinationAppName } from "../events/event.ts";
import { createMemo } from "./memo.ts";

/** InfluxDB major version, which decides field names and number suffixes (reference §10.2–§10.3). */
export type InfluxVersion = 1 | 2 | 3;

/** A configured static tag, in Butler SOS's `{name, value}` or the product documentation's `{tag, value}` form. */
export type StaticTag = { name?: string; tag?: string; value: string };

// Character codes used by the escapers.
const BACKSLASH = 92;
const COMMA = 44;
const EQUALS = 61;
const SPACE = 32;
const LT = 60;
const GT = 62;
const QUOTE = 34;

function isSeparator(c: number): boolean {
  return c === COMMA || c === EQUALS || c === SPACE;
}

/**
 * Cleans and escapes a tag key, tag value or field key (reference §10.3): with `strip`, removes `<`, `>` and `\`;
 * drops backslashes that are last or directly before `,`, `=` or space; escapes `,`, `=` and space.
 * Returns "" when nothing is left, meaning the tag is omitted.
 */
export function escapeTag(s: string, strip = false): string {
  const n = s.length;
  let i = 0;
  for (; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c === BACKSLASH || isSeparator(c) || (strip && (c === LT || c === GT))) break;
  }
  if (i === n) return s;
  let out = "";
  let from = 0;
  for (; i < n; i++) {
    const c = s.charCodeAt(i);
    if (strip && (c === LT || c === GT || c === BACKSLASH)) {
      out += s.slice(from, i);
      from = i + 1;
    } else if (c === BACKSLASH) {
      // A run of backslashes before a separator or the end would escape it: the whole run goes.
      let j = i + 1;
      while (j < n && s.charCodeAt(j) === BACKSLASH) j++;
      if (j === n || isSeparator(s.charCodeAt(j))) {
        out += s.slice(from, i);
        from = j;
      }
      i = j - 1;
    } else if (isSeparator(c)) {
      out += `${s.slice(from, i)}\\`;
      from = i;
    }
  }
  return out + s.slice(from);
}

/** Escapes a measurement name: `,` and space get a backslash (reference §10.3). */
export function escapeMeasurement(s: string): string {
  let out = "";
  let from = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === COMMA || c === SPACE) {
      out += `${s.slice(from, i)}\\`;
      from = i;
    }
  }
  return from === 0 ? s : out + s.slice(from);
}

/** Quotes a string field value, escaping `\` and `"` (reference §10.3). */
export function quoteString(s: string): string {
  let out = '"';
  let from = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === BACKSLASH || c === QUOTE) {
      out += `${s.slice(from, i)}\\`;
      from = i;
    }
  }
  return `${out}${s.slice(from)}"`;
}

/** Compares two keys by their UTF-8 bytes (UTF-16 order differs only for astral vs. U+E000–U+FFFF). */
function compareUtf8(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}

// An escaped key has no backslash left before a separator except its own escapes, so this undoes escapeTag.
function unescapeKey(key: string): string {
  let out = "";
  let from = 0;
  for (let i = 0; i + 1 < key.length; i++) {
    if (key.charCodeAt(i) === BACKSLASH && isSeparator(key.charCodeAt(i + 1))) {
      out += key.slice(from, i);
      from = i + 1;
    }
  }
  return from === 0 ? key : out + key.slice(from);
}

/** Orders escaped keys by the UTF-8 bytes of their unescaped form (reference §10.3). */
function compareEscapedKeys(a: string, b: string): number {
  return compareUtf8(unescapeKey(a), unescapeKey(b));
}

/** A field value with the type that decides its line protocol form. */
export type FieldValue = { int: number } | { float: number } | { str: string };

/** One generic point; tags with empty values are omitted. Used for the low-rate metric measurements. */
export interface Point {
  measurement: string;
  tags: Record<string, string>;
  fields: Record<string, FieldValue>;
  /** Timestamp in nanoseconds as a decimal string. */
  timeNs: string;
}

function formatNumber(n: number): string {
  return Number.isFinite(n) ? String(n) : "0";
}

/** Formats one generic point (sorted tags and fields, v1 bare numbers, v2/v3 `i` integers). */
export function formatPoint(point: Point, version: InfluxVersion): string {
  let line = escapeMeasurement(point.measurement);
  const tags = Object.keys(point.tags)
    .map((k) => [escapeTag(k), escapeTag(point.tags[k] ?? "")] as const)
    .filter(([k, v]) => k !== "" && v !== "")
    .sort((a, b) => compareEscapedKeys(a[0], b[0]));
  for (const [k, v] of tags) line += `,${k}=${v}`;
  const keys = Object.keys(point.fields).sort(compareUtf8);
  let sep = " ";
  for (const key of keys) {
    const value = point.fields[key];
    const k = escapeTag(key);
    if (value === undefined || k === "") continue;
    let text: string;
    if ("str" in value) text = quoteString(value.str);
    else if ("int" in value) text = `${formatNumber(Math.trunc(value.int))}${version === 1 ? "" : "i"}`;
    else text = formatNumber(value.float);
    line += `${sep}${k}=${text}`;
    sep = ",";
  }
  return `${line} ${point.timeNs}`;
}

/** Merges static tags over built-in tags: a static tag replaces a built-in of the same name, an empty one is ignored. */
export function mergeStaticTags(
  builtIn: Record<string, string>,
  tags: readonly StaticTag[],
): Record<string, string> {
  const merged = { ...builtIn };
  for (const t of tags) {
    const name = t.name ?? t.tag ?? "";
    const value = t.value == null ? "" : String(t.value);
    if (name !== "" && value !== "") merged[name] = value;
  }
  return merged;
}

/** Options for {@link createUserEventSerializer}. */
export interface UserEventLineOptions {
  version: InfluxVersion;
  /** Prefix of the four user agent tags; `""` gives Butler SOS 15's names, undefined writes both sets (reference §22). */
  uaTagPrefix?: string | undefined;
  /** Write `userFull` and `userId` as tags too (Butler SOS's schema); false keeps them fields only. @default true */
  userTags?: boolean | undefined;
  /** Static tags from `userEvents.tags`. */
  tags: readonly StaticTag[];
}

/** The user-agent tag prefixes to write: the one configured, or both Butler SOS 15's `""` and the documented `qs_`. */
export function uaTagPrefixes(uaTagPrefix: string | undefined): string[] {
  return uaTagPrefix === undefined ? ["", "qs_"] : [uaTagPrefix];
}

// Built-in tag slots; a slot is either one of these or a pre-escaped static `,key=value` segment.
const HOST = 0;
const ACTION = 1;
const USER_FULL = 2;
const USER_DIRECTORY = 3;
const USER_ID = 4;
const ORIGIN = 5;
const APP_ID = 6;
const APP_NAME = 7;
const UA_BROWSER = 8;
const UA_BROWSER_MAJOR = 9;
const UA_OS = 10;
const UA_OS_VERSION = 11;

// `segment` is set for static tags (written as is); otherwise `kind` names the built-in value to escape.
type Slot = { kind: number; prefix: string; strip: boolean; segment: string | null };

function builtInValue(kind: number, d: DeliverableEvent): string | null {
  const e = d.event;
  switch (kind) {
    case HOST:
      return e.host;
    case ACTION:
      return e.action;
    case USER_FULL:
      return d.userFull;
    case USER_DIRECTORY:
      return e.userDirectory;
    case USER_ID:
      return e.userId;
    case ORIGIN:
      return e.origin;
    case APP_ID:
      return e.appId;
    case APP_NAME:
      return e.appId === null ? null : destinationAppName(e);
    case UA_BROWSER:
      return e.userAgent?.browserName ?? null;
    case UA_BROWSER_MAJOR:
      return e.userAgent?.browserMajorVersion ?? null;
    case UA_OS:
      return e.userAgent?.osName ?? null;
    default:
      return e.userAgent?.osVersion ?? null;
  }
}

/**
 * Builds the `user_events` serializer for one configuration (reference §10.2–§10.4). The tag order, key escaping
 * and static segments are computed once here, so each call only escapes the event's own values.
 */
export function createUserEventSerializer(options: UserEventLineOptions): (d: DeliverableEvent) => string {
  const v3 = options.version === 3;
  const builtIn: [string, number][] = [
    ["host", HOST],
    ["event_action", ACTION],
    ["userDirectory", USER_DIRECTORY],
    ["origin", ORIGIN],
    ["appId", APP_ID],
    ["appName", APP_NAME],
  ];
  // User ids are the only unbounded tag values; InfluxDB 1.x caps values per tag (reference §22).
  if (options.userTags !== false) builtIn.push(["userFull", USER_FULL], ["userId", USER_ID]);
  // Both name sets carry the same value on every point, so they add bytes but no series.
  for (const p of uaTagPrefixes(options.uaTagPrefix)) {
    builtIn.push(
      [`${p}uaBrowserName`, UA_BROWSER],
      [`${p}uaBrowserMajorVersion`, UA_BROWSER_MAJOR],
      [`${p}uaOsName`, UA_OS],
      [`${p}uaOsVersion`, UA_OS_VERSION],
    );
  }
  // Keys are compared after cleaning (so a static tag replaces the built-in it would collide with).
  const byKey = new Map<string, Slot>();
  for (const [name, kind] of builtIn) {
    const key = escapeTag(name, v3);
    if (key !== "")
      byKey.set(key, { kind, prefix: `,${key}=`, strip: v3 && kind !== USER_FULL, segment: null });
  }
  for (const t of options.tags) {
    const name = t.name ?? t.tag ?? "";
    const key = escapeTag(name, v3);
    const value = escapeTag(t.value == null ? "" : String(t.value), v3 && name !== "userFull");
    if (key !== "" && value !== "")
      byKey.set(key, { kind: -1, prefix: "", strip: false, segment: `,${key}=${value}` });
  }
  const slots = [...byKey.entries()].sort((a, b) => compareEscapedKeys(a[0], b[0])).map(([, slot]) => slot);

  const appIdKey = options.version === 1 ? " appId=" : " appId_field=";
  const appNameKey = options.version === 1 ? ",appName=" : ",appName_field=";
  const userFullKey = v3 ? "userFull_field=" : "userFull=";
  const userIdKey = v3 ? ",userId_field=" : ",userId=";

  // Tag values repeat (hosts, actions, apps, user agents): their segments are memoised; user ids are too many.
  const segmentOf = slots.map((slot) => {
    const make = (raw: string) => {
      const value = escapeTag(raw, slot.strip);
      return value === "" ? "" : slot.prefix + value;
    };
    return slot.kind === USER_FULL || slot.kind === USER_ID ? make : createMemo(make);
  });

  return (d: DeliverableEvent): string => {
    let line = "user_events";
    for (let i = 0; i < slots.length; i++) {
      const { segment, kind } = slots[i] as Slot;
      const raw = segment === null ? builtInValue(kind, d) : null;
      if (segment !== null) line += segment;
      else if (raw) line += (segmentOf[i] as (raw: string) => string)(raw);
    }
    const e = d.event;
    if (e.appId !== null) {
      line += `${appIdKey}${quoteString(e.appId)}${appNameKey}${quoteString(destinationAppName(e))},`;
    } else {
      line += " ";
    }
    return `${line}${userFullKey}${quoteString(d.userFull)}${userIdKey}${quoteString(e.userId)} ${d.timeNs}`;
  };
}
