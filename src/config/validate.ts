import * as v from "valibot";
import { activateFeatures, type FeatureGates, featureGates } from "./features.ts";
import { isMappingTypeIssue } from "./fields.ts";
import { deleteAt, formatPath, getAt, isMapping, type RawPath, withoutNulls } from "./raw.ts";
import { checkActive, resolvePaths } from "./rules.ts";
import { type Config, ConfigSchema } from "./schema.ts";
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

const BS = "Butler-SOS";

/**
 * The parts of `Butler-SOS` that are only validated when their feature is used (spec §14.1), most
 * specific first, each with whether it is in use.
 */
function featureAreas(raw: unknown, f: FeatureGates): [RawPath, boolean][] {
  return [
    [[BS, "userEvents", "sendToMQTT"], f.mqtt],
    [[BS, "userEvents", "sendToNewRelic"], f.newRelic],
    [[BS, "userEvents", "udpServerConfig", "queueMetrics"], f.queueMetrics],
    [[BS, "userEvents"], f.userEvents],
    [[BS, "influxdbConfig"], f.influxdb],
    [[BS, "mqttConfig"], f.mqtt],
    [[BS, "newRelic"], f.newRelic],
    [[BS, "thirdPartyToolsCredentials"], f.newRelic],
    [[BS, "qlikSenseEvents"], f.eventCount],
    [[BS, "appNames"], f.appNames],
    [[BS, "cert"], f.appNames],
    [[BS, "logLevel"], getAt(raw, ["sense-events", "log", "level"]) === undefined],
  ];
}

/** True when `issuePath` lies in a feature area that is not in use. */
function inUnusedArea(areas: [RawPath, boolean][], issuePath: RawPath): boolean {
  const area = areas.find(([path]) => path.every((key, i) => issuePath[i] === key));
  return area !== undefined && !area[1];
}

/**
 * Drops the value behind an ignorable problem so its default applies: a problem inside a list item
 * drops the whole list; a problem about a missing key drops the nearest mapping that exists.
 */
function dropValue(raw: unknown, path: RawPath): boolean {
  const index = path.findIndex((key) => typeof key === "number");
  for (let end = index === -1 ? path.length : index; end > 0; end--)
    if (deleteAt(raw, path.slice(0, end))) return true;
  return false;
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

/** One issue per problem, with its YAML path (the file for a problem with the whole file). */
function toIssues(
  issues: readonly { issue: v.BaseIssue<unknown>; path: RawPath }[],
  file: string,
): ConfigIssue[] {
  return issues.map(({ issue, path }) => ({
    path: path.length > 0 ? formatPath(path) : file,
    message: issue.message,
  }));
}

/**
 * Validates a parsed YAML value (spec §14.1): `null` values take their defaults, problems in features
 * that are not used are ignored (those values fall back to their defaults), relative paths are
 * resolved against `baseDir`, and the rules that depend on active features are checked. A section
 * that is present but not a mapping is always an error. The file is parsed at most twice.
 */
export function validateConfig(input: unknown, options: ValidateOptions): ValidateResult {
  const file = options.file ?? "config";
  const raw = withoutNulls(input ?? {});
  if (!isMapping(raw)) return { ok: false, errors: [{ path: file, message: "must be a YAML mapping" }] };
  const gates = featureGates(raw);
  const areas = featureAreas(raw, gates);
  let result = v.safeParse(ConfigSchema, raw);
  if (!result.success) {
    const issues = result.issues.map((issue) => ({
      issue,
      path: (issue.path ?? []).map((p) => p.key as string | number),
    }));
    const ignorable = (i: (typeof issues)[number]) =>
      inUnusedArea(areas, i.path) &&
      !(isMappingTypeIssue(i.issue) && !i.path.some((k) => typeof k === "number"));
    const errors = issues.filter((i) => !ignorable(i));
    if (errors.length > 0) return { ok: false, errors: toIssues(errors, file) };
    // Every problem is in an unused feature: drop those values so their defaults apply, and parse again.
    for (const { path } of issues) dropValue(raw, path);
    result = v.safeParse(ConfigSchema, raw);
    if (!result.success)
      return {
        ok: false,
        errors: toIssues(
          result.issues.map((issue) => ({
            issue,
            path: (issue.path ?? []).map((p) => p.key as string | number),
          })),
          file,
        ),
      };
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
