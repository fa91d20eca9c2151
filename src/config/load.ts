import { constants, type Stats } from "node:fs";
import { open } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import { type Document, isScalar, LineCounter, parseDocument, visit } from "yaml";
import { errorCode } from "../net.ts";
import { CONFIG_WORKER_URL } from "../workers.ts";
import type { Config } from "./schema.ts";
import { type ConfigIssue, validateConfig } from "./validate.ts";

export type { ConfigIssue } from "./validate.ts";

/** A loaded config with its warnings, or the problems that stop it from loading. */
export type LoadResult =
  | {
      ok: true;
      config: Config;
      warnings: string[];
      file: string;
      /** The file had no content, so the config is the defaults (a reload refuses it). */
      empty?: boolean;
    }
  | { ok: false; errors: ConfigIssue[] };

/** Largest config file read (reference §14.1): a bigger file is refused before it is parsed. */
export const MAX_CONFIG_BYTES = 4 * 1024 * 1024;

/** Options for {@link parseConfigText}. */
export interface ParseOptions {
  /** File name used in messages and returned as `file`. */
  file: string;
  /** Directory relative paths are resolved against. @default the directory of `file` */
  baseDir?: string;
}

/** One config problem as printed on stderr: `config error: <path>: <problem>`. */
export function formatConfigIssue(issue: ConfigIssue): string {
  return `config error: ${issue.path}: ${issue.message}`;
}

/** Parses and validates YAML text; a syntax error becomes one `<file>:<line>:<col>` issue. */
export function parseConfigText(text: string, options: ParseOptions): LoadResult {
  const { file } = options;
  const lineCounter = new LineCounter();
  // `merge: true` accepts `<<` merge keys, which Butler SOS's YAML reader (js-yaml) accepts too.
  // The yaml package's own duplicate-key check scans the mapping for every key (quadratic: 40k keys
  // took 13.7 s), so it is off and duplicateKey() does the same check with a Set.
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, merge: true, uniqueKeys: false });
  const syntax = doc.errors[0] ?? duplicateKey(doc);
  if (syntax) {
    const { line, col } = lineCounter.linePos(syntax.pos[0]);
    const message =
      syntax.code === "MULTIPLE_DOCS" ? "the file must hold a single YAML document" : syntax.message;
    return { ok: false, errors: [{ path: `${file}:${line}:${col}`, message }] };
  }
  let raw: unknown;
  try {
    raw = doc.toJS({ maxAliasCount: 1000 });
  } catch (error) {
    return { ok: false, errors: [{ path: file, message: (error as Error).message }] };
  }
  const result = validateConfig(raw, { baseDir: options.baseDir ?? dirname(resolve(file)), file });
  return result.ok ? { ...result, file } : result;
}

/** The first repeated key of any mapping, as a syntax error at the repeated key (linear time). */
function duplicateKey(doc: Document): { code: string; pos: [number, number]; message: string } | undefined {
  let found: { code: string; pos: [number, number]; message: string } | undefined;
  visit(doc, {
    Map(_, map) {
      const seen = new Set<unknown>();
      for (const { key } of map.items) {
        // Like the yaml package, only scalar keys compare by value (other keys by identity: never equal).
        if (!isScalar(key)) continue;
        if (seen.has(key.value)) {
          const start = key.range?.[0] ?? 0;
          found = { code: "DUPLICATE_KEY", pos: [start, start + 1], message: "Map keys must be unique" };
          return visit.BREAK;
        }
        seen.add(key.value);
      }
      return undefined;
    },
  });
  return found;
}

/**
 * Reads at most {@link MAX_CONFIG_BYTES} of a regular file. The file is opened non-blocking and
 * checked before reading, so a FIFO cannot hang the read and `/dev/zero` cannot grow it.
 */
async function readConfigText(file: string): Promise<{ text: string } | { error: string }> {
  let handle: Awaited<ReturnType<typeof open>>;
  try {
    handle = await open(file, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (error) {
    return {
      error: `cannot read file (${errorCode(error)})`,
    };
  }
  try {
    const stat = await handle.stat();
    if (!stat.isFile()) return { error: `cannot read file: not a regular file (${fileKind(stat)})` };
    if (stat.size > MAX_CONFIG_BYTES) return { error: tooLarge(stat.size) };
    // The size can change between stat and read: read one byte more than allowed to notice.
    const buffer = Buffer.allocUnsafe(MAX_CONFIG_BYTES + 1);
    let length = 0;
    while (length < buffer.length) {
      const { bytesRead } = await handle.read(buffer, length, buffer.length - length, length);
      if (bytesRead === 0) break;
      length += bytesRead;
    }
    if (length > MAX_CONFIG_BYTES) return { error: tooLarge(length, true) };
    return { text: buffer.toString("utf8", 0, length) };
  } catch (error) {
    return {
      error: `cannot read file (${errorCode(error)})`,
    };
  } finally {
    await handle.close();
  }
}

/**
 * The error for a file over the limit: `bytes` is the size from stat, or (`grew`) a lower bound from a
 * read that found more than stat said.
 */
const tooLarge = (bytes: number, grew = false): string =>
  `file too large: ${grew ? `over ${MAX_CONFIG_BYTES}` : bytes} bytes, the limit is ${MAX_CONFIG_BYTES} (4 MiB)`;

/** What a non-regular file is, for the error message. */
function fileKind(stat: Stats): string {
  if (stat.isDirectory()) return "a directory";
  if (stat.isFIFO()) return "a FIFO";
  if (stat.isCharacterDevice()) return "a character device";
  if (stat.isBlockDevice()) return "a block device";
  if (stat.isSocket()) return "a socket";
  return "not a file";
}

/** Reads, parses and validates a config file (reference §14.1); relative paths resolve against its directory. */
export async function loadConfigFile(path: string): Promise<LoadResult> {
  const file = resolve(path);
  const read = await readConfigText(file);
  if ("error" in read) return { ok: false, errors: [{ path, message: read.error }] };
  const text = read.text;
  const result = parseConfigText(text.replace(/^\uFEFF/, ""), { file: path, baseDir: dirname(file) });
  if (!result.ok) return result;
  return text.replace(/^\uFEFF/, "").trim() === "" ? { ...result, file, empty: true } : { ...result, file };
}

/** The embedded default used without `-c` (reference §14.1): UDP 0.0.0.0:9997, API 127.0.0.1:9995, no destinations. */
export function defaultConfig(): Config {
  const result = validateConfig({}, { baseDir: process.cwd() });
  if (!result.ok)
    throw new Error(
      `[config] embedded default is invalid: ${result.errors.map(formatConfigIssue).join("; ")}`,
    );
  return result.config;
}

/**
 * {@link loadConfigFile} on a Worker thread: a 4 MB file takes seconds to parse, and a reload must
 * not stall the API meanwhile (reference §14.4). `workerUrl` is for tests.
 */
export function loadConfigFileOffThread(path: string, workerUrl = CONFIG_WORKER_URL): Promise<LoadResult> {
  return new Promise((resolvePromise) => {
    const worker = new Worker(workerUrl);
    const done = (result: LoadResult) => {
      worker.terminate();
      resolvePromise(result);
    };
    worker.onmessage = (event: MessageEvent<LoadResult>) => done(event.data);
    worker.onerror = (event) =>
      done({ ok: false, errors: [{ path, message: `cannot load: ${event.message}` }] });
    worker.postMessage({ path });
  });
}
