import * as v from "valibot";
import { activeFeatures } from "./features.ts";
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

/** The gate value at `path`: its default when absent, otherwise anything but `false` counts as on. */
function gate(raw: unknown, path: RawPath, fallback: boolean): boolean {
  const value = getAt(raw, path);
  return value === undefined ? fallback : value !== false;
}

/**
 * The parts of `Butler-SOS` that are only validated when their feature is used (spec §14.1), most
 * specific first, each with whether it is in use. Computed from the raw value, before validation.
 */
function featureAreas(raw: unknown): [RawPath, boolean][] {
  const ue = gate(raw, [BS, "userEvents", "enable"], true);
  const influxOn = ue && gate(raw, [BS, "influxdbConfig", "enable"], false);
  const eventCount =
    influxOn &&
    gate(raw, [BS, "qlikSenseEvents", "eventCount", "enable"], false) &&
    gate(raw, [BS, "qlikSenseEvents", "influxdb", "enable"], false);
  const queueMetrics =
    influxOn && gate(raw, [BS, "userEvents", "udpServerConfig", "queueMetrics", "influxdb", "enable"], false);
  const influx =
    eventCount ||
    queueMetrics ||
    (influxOn && gate(raw, [BS, "userEvents", "sendToInfluxdb", "enable"], true));
  const mqtt =
    ue &&
    gate(raw, [BS, "mqttConfig", "enable"], false) &&
    gate(raw, [BS, "userEvents", "sendToMQTT", "enable"], false);
  const newRelic =
    ue &&
    gate(raw, [BS, "newRelic", "enable"], false) &&
    gate(raw, [BS, "userEvents", "sendToNewRelic", "enable"], false);
  const appNames = ue && gate(raw, [BS, "appNames", "enableAppNameExtract"], false);
  return [
    [[BS, "userEvents", "sendToMQTT"], mqtt],
    [[BS, "userEvents", "sendToNewRelic"], newRelic],
    [[BS, "userEvents", "udpServerConfig", "queueMetrics"], queueMetrics],
    [[BS, "userEvents"], ue],
    [[BS, "influxdbConfig"], influx],
    [[BS, "mqttConfig"], mqtt],
    [[BS, "newRelic"], newRelic],
    [[BS, "thirdPartyToolsCredentials"], newRelic],
    [[BS, "qlikSenseEvents"], eventCount],
    [[BS, "appNames"], appNames],
    [[BS, "cert"], appNames],
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

/**
 * Validates a parsed YAML value (spec §14.1): `null` values take their defaults, problems in features
 * that are not used are ignored (those values fall back to their defaults), relative paths are
 * resolved against `baseDir`, and the rules that depend on active features are checked.
 */
export function validateConfig(input: unknown, options: ValidateOptions): ValidateResult {
  const raw = withoutNulls(input ?? {});
  if (!isMapping(raw))
    return { ok: false, errors: [{ path: options.file ?? "config", message: "must be a YAML mapping" }] };
  const areas = featureAreas(raw);
  // Each round drops at least one value from an unused feature; the bound is only a safety net.
  for (let round = 0; round < 100; round++) {
    const result = v.safeParse(ConfigSchema, raw);
    if (result.success) {
      const config = resolvePaths(result.output, options.baseDir);
      const errors = checkActive(config);
      if (errors.length > 0) return { ok: false, errors };
      const warnings = [...unknownKeyWarnings(raw), ...activeFeatures(config).warnings];
      if (!config[BS].userEvents.enable)
        warnings.unshift(
          "user events are disabled (Butler-SOS.userEvents.enable is false): no UDP listener, no destinations",
        );
      return { ok: true, config, warnings };
    }
    const issues = result.issues.map((issue) => ({
      issue,
      path: (issue.path ?? []).map((p) => p.key as string | number),
    }));
    const ignorable = issues.filter(({ path }) => inUnusedArea(areas, path));
    const dropped = ignorable.map(({ path }) => dropValue(raw, path));
    if (ignorable.length === issues.length && dropped.some(Boolean)) continue;
    const errors = issues
      .filter((i) => !ignorable.includes(i))
      .map(({ issue, path }) => ({
        path: path.length > 0 ? formatPath(path) : (options.file ?? "config"),
        message: issue.message,
      }));
    if (errors.length > 0) return { ok: false, errors };
    if (!dropped.some(Boolean)) break;
  }
  return { ok: false, errors: [{ path: options.file ?? "config", message: "could not be validated" }] };
}
