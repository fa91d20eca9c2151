// A small InfluxDB line-protocol reader for the fuzz suite, written from reference §10.3 (not from
// src/destinations/line-protocol.ts), so a writer bug cannot hide behind a matching reader bug.

/** One parsed line: measurement, tags and string fields unescaped, timestamp as written. */
export interface ParsedLine {
  measurement: string;
  tags: Record<string, string>;
  fields: Record<string, string>;
  timestamp: string;
}

const isSeparator = (c: string | undefined) => c === "," || c === "=" || c === " ";

/** Reads an escaped key or tag value up to an unescaped character of `stops`; returns it and the end index. */
function readEscaped(line: string, at: number, stops: string): [string, number] {
  let out = "";
  let i = at;
  while (i < line.length) {
    const c = line[i] as string;
    if (c === "\\" && isSeparator(line[i + 1])) {
      out += line[i + 1];
      i += 2;
      continue;
    }
    if (stops.includes(c)) break;
    out += c;
    i++;
  }
  return [out, i];
}

/** Reads a `"…"` string field value starting at the opening quote; returns it and the index after the closing quote. */
function readQuoted(line: string, at: number): [string, number] {
  if (line[at] !== '"') throw new Error(`expected " at ${at}`);
  let out = "";
  let i = at + 1;
  for (;;) {
    const c = line[i];
    if (c === undefined) throw new Error("unterminated string field");
    if (c === "\\" && (line[i + 1] === "\\" || line[i + 1] === '"')) {
      out += line[i + 1];
      i += 2;
    } else if (c === '"') {
      return [out, i + 1];
    } else {
      out += c;
      i++;
    }
  }
}

/** Parses one line whose fields are all strings; throws on anything malformed. */
export function parseLine(line: string): ParsedLine {
  if (line.includes("\n")) throw new Error("a line must not contain a newline");
  let i = 0;
  let measurement = "";
  while (i < line.length && line[i] !== "," && line[i] !== " ") {
    if (line[i] === "\\" && (line[i + 1] === "," || line[i + 1] === " ")) i++;
    measurement += line[i];
    i++;
  }
  const tags: Record<string, string> = {};
  while (line[i] === ",") {
    const [key, afterKey] = readEscaped(line, i + 1, "=, ");
    if (line[afterKey] !== "=") throw new Error(`tag ${key} has no =`);
    const [value, afterValue] = readEscaped(line, afterKey + 1, ", =");
    if (key === "" || value === "") throw new Error(`empty tag key or value at ${i}`);
    if (key in tags) throw new Error(`duplicate tag ${key}`);
    tags[key] = value;
    i = afterValue;
  }
  if (line[i] !== " ") throw new Error(`expected a space before the fields at ${i}`);
  const fields: Record<string, string> = {};
  do {
    const [key, afterKey] = readEscaped(line, i + 1, "=, ");
    if (line[afterKey] !== "=") throw new Error(`field ${key} has no =`);
    const [value, afterValue] = readQuoted(line, afterKey + 1);
    if (key in fields) throw new Error(`duplicate field ${key}`);
    fields[key] = value;
    i = afterValue;
  } while (line[i] === ",");
  if (line[i] !== " ") throw new Error(`expected a space before the timestamp at ${i}`);
  const timestamp = line.slice(i + 1);
  if (!/^\d+$/.test(timestamp)) throw new Error(`bad timestamp ${timestamp}`);
  return { measurement, tags, fields, timestamp };
}

/**
 * A tag value as reference §10.3 says it is stored: with `strip`, `<`, `>` and `\` removed; then every
 * run of backslashes that is last or directly before `,`, `=` or space deleted.
 */
export function storedTagValue(value: string, strip: boolean): string {
  let s = strip ? value.replace(/[<>\\]/g, "") : value;
  s = s.replace(/\\+(?=[,= ]|$)/g, "");
  return s;
}
