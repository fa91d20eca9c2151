import * as v from "valibot";
import { schemaForFeatures } from "./feature-schema.ts";
import { activateFeatures, featureGates } from "./features.ts";
import { formatPath, getAt, isMapping, withoutNulls } from "./raw.ts";
import { checkActive, resolvePaths } from "./rules.ts";
import type { Config } from "./schema.ts";
import { SENSE_EVENTS_KEYS } from "./sense-events-schema.ts";

/** One config problem: a YAML path (`Butler-SOS.influxdbConfig.version`) and what is wrong. */
export interface ConfigIssue {
  /** YAML path with list items as `[i]`, or `<file>:<line>:<col>` for a YAML syntax error. */
  path: string;
  /** The problem, e.g. `must be 1, 2 or 3 (got 4)`. */
  message: string;
}

/** Result of validating a config value. */
export type ValidateResult =
  | { ok: true; config: Config; warnings: string[] }
  | { ok: false; errors: ConfigIssue[] };

/** Options for {@link validateConfig}. */
export interface ValidateOptions {
  /** Directory relative paths are resolved against (the config file's directory). */
  baseDir: string;
  /** Shown as the path of a problem with the whole file. @default "config" */
  file?: string;
}

/** Warnings for keys of the `sense-events` section that sense-events does not know. */
function unknownKeyWarnings(raw: unknown): string[] {
  const section = getAt(raw, ["sense-events"]);
  if (!isMapping(section)) return [];
  const warnings: string[] = [];
  for (const [key, value] of Object.entries(section)) {
    const known = SENSE_EVENTS_KEYS[key];
    if (!known) warnings.push(`sense-events.${key}: unknown key (ignored)`);
    else if (isMapping(value))
      for (const sub of Object.keys(value))
        if (!known[sub]) warnings.push(`sense-events.${key}.${sub}: unknown key (ignored)`);
  }
  return warnings;
}

/**
 * Validates a parsed YAML value (reference §14.1) in one parse: `null` values take their defaults; the
 * features in use are read from the file first, and settings of the others are ignored (an invalid
 * value takes its default); a section that is present but not a mapping is always an error; relative
 * paths are resolved against `baseDir`; then the rules that depend on active features are checked.
 */
export function validateConfig(input: unknown, options: ValidateOptions): ValidateResult {
  const file = options.file ?? "config";
  const raw = withoutNulls(input ?? {});
  if (!isMapping(raw)) return { ok: false, errors: [{ path: file, message: "must be a YAML mapping" }] };
  const gates = featureGates(raw);
  const result = v.safeParse(schemaForFeatures(raw, gates), raw);
  if (!result.success) {
    const errors = result.issues.map((issue) => {
      const path = (issue.path ?? []).map((p) => p.key as string | number);
      return { path: path.length > 0 ? formatPath(path) : file, message: issue.message };
    });
    return { ok: false, errors };
  }
  const sections = resolvePaths(result.output, options.baseDir);
  const { features, errors } = activateFeatures(sections, gates);
  errors.push(...checkActive(sections, features));
  if (errors.length > 0) return { ok: false, errors };
  const warnings = [...unknownKeyWarnings(raw), ...features.warnings];
  if (!features.userEvents)
    warnings.unshift(
      "user events are disabled (Butler-SOS.userEvents.enable is false): no UDP listener, no destinations",
    );
  return { ok: true, config: { ...sections, features }, warnings };
}
