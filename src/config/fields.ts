import { isIP } from "node:net";
import * as v from "valibot";

// Small schema builders shared by the config schema, each with a one-line error message that
// names what was expected (reference §14.1: "config error: <path>: <problem>").

/** True when `s` has a C0 control character or DEL, which config values must not contain (reference §10.3). */
function hasControlChar(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || c === 0x7f) return true;
  }
  return false;
}

/** RFC 1123 hostname: dot-separated labels of letters, digits and inner hyphens; optional final dot. */
const HOSTNAME =
  /^(?=.{1,253}\.?$)[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*\.?$/i;

/** True for an IPv4/IPv6 literal or an RFC 1123 hostname, so placeholders like `<IP or FQDN>` fail. */
export function isHost(value: string): boolean {
  return isIP(value) !== 0 || HOSTNAME.test(value);
}

type Issue = v.BaseIssue<unknown>;

/** Message for a mapping: a missing required key is "required", anything else a type error. */
const mappingMessage = (issue: Issue): string =>
  issue.received === "undefined" && issue.expected?.startsWith('"')
    ? "required"
    : `must be a mapping (got ${issue.received})`;

/** A string without control characters. */
export const str = () =>
  v.pipe(
    v.string((i) => `must be a string (got ${i.received})`),
    v.check((s) => !hasControlChar(s), "must not contain control characters"),
  );

/** A string, number or boolean turned into a string (YAML reads `userId: 1234` as a number). */
export const scalar = () =>
  v.pipe(
    v.union([v.string(), v.number(), v.boolean()], (i) => `must be a string (got ${i.received})`),
    v.transform(String),
    v.check((s) => !hasControlChar(s), "must not contain control characters"),
  );

/** `true` or `false`. */
export const bool = () => v.boolean((i) => `must be true or false (got ${i.received})`);

/** An integer in `min`…`max` (inclusive); without `max` only the lower bound applies. */
export const int = (min: number, max = Number.MAX_SAFE_INTEGER) => {
  const range = max === Number.MAX_SAFE_INTEGER ? `of at least ${min}` : `from ${min} to ${max}`;
  const message = (i: Issue) => `must be an integer ${range} (got ${i.received})`;
  return v.pipe(v.number(message), v.integer(message), v.minValue(min, message), v.maxValue(max, message));
};

/** A delay in ms for a JavaScript timer: above 2^31-1 the runtime would fire it after 1 ms instead. */
export const timerMs = (min: number) => int(min, 2_147_483_647);

/** A TCP/UDP port, 1–65535. */
export const port = () => int(1, 65535);

/** An IP literal or RFC 1123 hostname. */
export const host = () =>
  v.pipe(
    str(),
    v.check(isHost, (i) => `must be an IP address or hostname (got ${i.received})`),
  );

/** One of the given literal values, e.g. `must be 1, 2 or 3 (got 4)`. */
export const oneOf = <const T extends readonly (string | number)[]>(options: T) => {
  const shown = options.map((o) => (typeof o === "string" ? `"${o}"` : String(o)));
  const list = `${shown.slice(0, -1).join(", ")} or ${shown.at(-1)}`;
  return v.picklist(options, (i) => `must be ${list} (got ${i.received})`);
};

/** A mapping whose unknown keys are ignored (and left out of the output); a list is not a mapping. */
export const obj = <T extends v.ObjectEntries>(entries: T) =>
  v.pipe(
    v.unknown(),
    v.check((value) => !Array.isArray(value), mappingMessage),
    v.object(entries, mappingMessage),
  );

/** A list of `item`. */
export const list = <T extends v.GenericSchema>(item: T) =>
  v.array(item, (i) => `must be a list (got ${i.received})`);

/** The entries of every schema made by {@link section}, so the schema can be walked and rebuilt. */
const SECTION_ENTRIES = new WeakMap<object, v.ObjectEntries>();

/** A mapping that may be left out; its own defaults then apply. */
export const section = <T extends v.ObjectEntries>(entries: T) => {
  const schema = v.optional(obj(entries), {});
  SECTION_ENTRIES.set(schema, entries);
  return schema;
};

/** The entries of a schema made by {@link section}, or undefined for any other schema. */
export function sectionEntries(schema: object): v.ObjectEntries | undefined {
  return SECTION_ENTRIES.get(schema);
}

/** The keys of a {@link section}'s mapping, each with its own sub-keys when it is a section too. */
export function sectionKeys(schema: v.GenericSchema): Record<string, Record<string, true>> {
  const keys: Record<string, Record<string, true>> = {};
  for (const [key, entry] of Object.entries(sectionEntries(schema) ?? {})) {
    keys[key] = {};
    for (const sub of Object.keys(sectionEntries(entry) ?? {})) keys[key][sub] = true;
  }
  return keys;
}
