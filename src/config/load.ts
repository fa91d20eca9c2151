import { readFile } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import { LineCounter, parseDocument } from "yaml";
import { errorCode } from "../net.ts";
import type { Config } from "./schema.ts";
import { type ConfigIssue, validateConfig } from "./validate.ts";

export type { ConfigIssue } from "./validate.ts";

/** A loaded config with its warnings, or the problems that stop it from loading. */
export type LoadResult =
  | {
      ok: true;
      config: Config;
      warnings: string[];
      file: string /** The file had no content (defaults only). */;
      empty?: boolean;
    }
  | { ok: false; errors: ConfigIssue[] };

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
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, merge: true });
  const syntax = doc.errors[0];
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
  if (!result.ok) return result;
  return text.replace(/^\uFEFF/, "").trim() === "" ? { ...result, file, empty: true } : { ...result, file };
}

/** Reads, parses and validates a config file (spec §14.1); relative paths resolve against its directory. */
export async function loadConfigFile(path: string): Promise<LoadResult> {
  const file = resolve(path);
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (error) {
    return {
      ok: false,
      errors: [{ path, message: `cannot read file (${errorCode(error)})` }],
    };
  }
  const result = parseConfigText(text.replace(/^\uFEFF/, ""), { file: path, baseDir: dirname(file) });
  if (!result.ok) return result;
  return text.replace(/^\uFEFF/, "").trim() === "" ? { ...result, file, empty: true } : { ...result, file };
}

/** The embedded default used without `-c` (spec §14.1): UDP 0.0.0.0:9997, API 127.0.0.1:9995, no destinations. */
export function defaultConfig(): Config {
  const result = validateConfig({}, { baseDir: process.cwd() });
  if (!result.ok)
    throw new Error(
      `[config] embedded default is invalid: ${result.errors.map(formatConfigIssue).join("; ")}`,
    );
  return result.config;
}
